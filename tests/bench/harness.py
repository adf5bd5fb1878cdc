"""What every benchmark needs: a fresh migrated PostgreSQL (embedded unless MOTCUA_DATABASE_URL
is set), the repository's tenant files applied with their secrets, sandboxes on free ports, and
``motcua serve`` / ``motcua worker`` / the load generator as separate processes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.faults.helpers import OA, Proc, free_port, wait_ready

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Env:
    database: object  # motcua.testing.database.TestDatabase
    master_key: str
    tenants_dir: Path
    tmp: Path
    runtime: object  # motcua.runtime.Runtime (application role)
    tenants: dict = field(default_factory=dict)
    sandbox_urls: dict = field(default_factory=dict)
    procs: list[Proc] = field(default_factory=list)
    base_url: str = ""

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MOTCUA_")}
        sim = f"{self.base_url}/sim"
        env.update({"MOTCUA_DATABASE_URL": self.database.owner_url, "MOTCUA_APP_DATABASE_URL": self.database.app_url,
                    "MOTCUA_MASTER_KEY": self.master_key, "MOTCUA_DATA_DIR": str(self.tmp / "data"),
                    "MOTCUA_TENANTS_DIR": str(self.tenants_dir), "MOTCUA_PUBLIC_URL": self.base_url,
                    "MOTCUA_ZALO_OPENAPI_URL": sim, "MOTCUA_ZALO_OAUTH_URL": sim, "MOTCUA_ZALO_BUSINESS_URL": sim,
                    "MOTCUA_ZALO_GRAPH_URL": sim, "MOTCUA_LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"})
        env.update(extra)
        return env

    def oa(self, slug: str) -> OA:
        return OA.of(self.tenants[slug])

    async def serve(self, *, simulator: bool = False) -> Proc:
        port = int(self.base_url.rsplit(":", 1)[1])
        extra = {"MOTCUA_ENABLE_SIMULATOR": "1"} if simulator else {}
        proc = Proc(["serve", "--host", "127.0.0.1", "--port", str(port)], self.env(**extra), self.tmp / "serve.log")
        proc.port = port
        self.procs.append(proc.start())
        await wait_ready(proc)
        return proc

    def worker(self, concurrency: int = 8, name: str = "worker") -> Proc:
        proc = Proc(["worker", "--concurrency", str(concurrency)], self.env(), self.tmp / f"{name}.log").start()
        self.procs.append(proc)
        return proc


@contextlib.asynccontextmanager
async def environment(*, sandboxes: bool = False) -> AsyncIterator[Env]:
    from motcua.crypto import Crypto, parse_master_key
    from motcua.db.database import connect
    from motcua.plugins import Plugins
    from motcua.runtime import Runtime
    from motcua.settings import Settings
    from motcua.tenancy.apply import apply_all
    from motcua.tenancy.loader import load_dir, secret_env
    from motcua.testing.database import TestDatabase

    tmp = Path(tempfile.mkdtemp(prefix="motcua-bench-"))
    tenants_dir = tmp / "tenants"
    tenants_dir.mkdir()
    ports: dict[str, str] = {}
    for path in sorted((ROOT / "tenants").glob("*.toml")):
        text = re.sub(r"127\.0\.0\.1:(\d+)", lambda m: "127.0.0.1:" + ports.setdefault(m.group(1), str(free_port())),
                      path.read_text(encoding="utf-8"))
        (tenants_dir / path.name).write_text(text, encoding="utf-8")
    plugins = Plugins()
    loaded = load_dir(tenants_dir, plugins.adapters)
    assert not loaded.problems, [str(p) for p in loaded.problems]
    for name in sorted({e for t in loaded.tenants for e in secret_env(t).values()}):
        os.environ.setdefault(name, secrets.token_urlsafe(24))
    master_key = secrets.token_hex(32)
    database = await TestDatabase.create()
    base_url = f"http://127.0.0.1:{free_port()}"
    sim = f"{base_url}/sim"
    settings = Settings.from_env({}, database_url=database.owner_url, app_database_url=database.app_url,
                                 master_key=master_key, data_dir=tmp / "data", tenants_dir=tenants_dir,
                                 public_url=base_url, pool_size=20)
    from motcua.settings import ZaloSettings

    settings = settings.replace(zalo=ZaloSettings(openapi_url=sim, oauth_url=sim, business_url=sim, graph_url=sim))
    conn = await connect(database.owner_url)
    try:
        await apply_all(conn, Crypto(parse_master_key(master_key)), loaded.tenants)
    finally:
        await conn.close()
    runtime = await Runtime.start(settings, plugins=plugins, migrate_db=False)
    env = Env(database, master_key, tenants_dir, tmp, runtime, {t.slug: t for t in loaded.tenants}, base_url=base_url)
    stack = contextlib.AsyncExitStack()
    try:
        if sandboxes:
            from motcua.onestop.sandbox import sandboxes as run_sandboxes

            env.sandbox_urls = await stack.enter_async_context(run_sandboxes(loaded.tenants, plugins.adapters))
        yield env
    finally:
        for proc in env.procs:
            proc.stop()
        await stack.aclose()
        await runtime.close()
        await database.drop()
    # Kept when the run failed: serve.log and worker.log say why.
    shutil.rmtree(tmp, ignore_errors=True)


def loadgen(requests: list[dict], port: int, *, concurrency: int = 32, tmp: Path) -> dict:
    """Send ``requests`` from a separate process; returns its JSON report."""
    path = tmp / f"requests-{secrets.token_hex(4)}.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in requests), encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "tests.bench.loadgen", str(path), "--port", str(port),
                          "--concurrency", str(concurrency)], cwd=ROOT, capture_output=True, text=True, timeout=240)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def signed_requests(oa: OA, n: int, *, text: str = "xin chào") -> tuple[list[dict], list[dict]]:
    """``n`` distinct citizen messages as webhook requests (and the events)."""
    from tests.faults.helpers import new_user_id

    events = [oa.text_event(new_user_id(), f"{text} {i}") for i in range(n)]
    reqs = []
    for e in events:
        body, headers = oa.signed(e)
        reqs.append({"method": "POST", "path": oa.path, "headers": headers, "body": body.decode()})
    return reqs, events


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = subprocess.run(["free", "-h"], capture_output=True, text=True).stdout.splitlines()[1].split()[1]
    return f"{os.cpu_count()} CPU ({cpu}), {mem} RAM, Python {platform.python_version()}"


def report(name: str, **figures) -> None:
    print(json.dumps({"bench": name, "date": time.strftime("%Y-%m-%d"), "machine": machine(), **figures},
                     ensure_ascii=False), flush=True)


def run(coro) -> None:
    asyncio.run(coro)
