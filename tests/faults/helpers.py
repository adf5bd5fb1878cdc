"""Shared by the fault suite, the observability tests and the benchmarks: a citizen who writes to
a province's OA through the Zalo simulator, the OA connected to the simulator, signed webhook
bodies built exactly as Zalo builds them, subprocesses of ``motcua serve`` and ``motcua worker``
on the test database, and a few counting queries."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from motcua.testing.zalo import connect_oa as connect_simulated_oa

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def new_user_id() -> str:
    return str(10**18 + secrets.randbelow(9 * 10**18))


def zalo_signature(app_id: str, body: bytes, timestamp: str, secret_key: str) -> str:
    """``X-ZEvent-Signature`` as Zalo computes it: sha256 over app id, body, timestamp, OA secret key."""
    return "mac=" + hashlib.sha256(app_id.encode() + body + timestamp.encode() + secret_key.encode()).hexdigest()


@dataclass
class OA:
    """One tenant's Official Account as Zalo sees it: enough to sign events for its webhook."""

    slug: str
    oa_id: str
    app_id: str
    secret_key: str

    @classmethod
    def of(cls, tenant) -> OA:
        z = tenant.file.zalo
        return cls(tenant.slug, z.oa_id, z.app_id, os.environ[z.secret_key_env])

    def text_event(self, user_id: str, text: str, *, msg_id: str | None = None) -> dict[str, Any]:
        return {"app_id": self.app_id, "sender": {"id": user_id}, "user_id_by_app": "app-" + user_id,
                "recipient": {"id": self.oa_id}, "event_name": "user_send_text",
                "message": {"msg_id": msg_id or secrets.token_hex(16), "text": text},
                "timestamp": str(int(time.time() * 1000))}

    def signed(self, event: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        return body, {"Content-Type": "application/json",
                      "X-ZEvent-Signature": zalo_signature(self.app_id, body, event["timestamp"], self.secret_key)}

    @property
    def path(self) -> str:
        return f"/zalo/{self.slug}/webhook"


async def connect_oa(http: httpx.AsyncClient, runtime, slug: str) -> None:
    """Connect the tenant's OA to the simulator for a day, as an admin would after OAuth."""
    await connect_simulated_oa(http, runtime, slug, expires_in=86_400)


async def sim_users(http: httpx.AsyncClient, slug: str, n: int) -> list[str]:
    """``n`` citizens who follow the OA in the simulator and just wrote to it (reply window
    open), so replies to events we sign and post ourselves can be delivered."""
    sem = asyncio.Semaphore(16)

    async def one() -> str:
        async with sem:
            r = await http.post("/sim/api/users", json={"tenant": slug, "user_id": new_user_id(), "follows": True,
                                                        "last_interaction_ago": 0})
        r.raise_for_status()
        return r.json()["user_id"]

    return list(await asyncio.gather(*(one() for _ in range(n))))


async def citizen_says(http: httpx.AsyncClient, slug: str, text: str, user_id: str | None = None) -> dict[str, Any]:
    """A citizen writes to the OA in the simulator; the simulator signs and delivers the webhook."""
    r = await http.post("/sim/api/send", json={"tenant": slug, "type": "text", "text": text,
                                                **({"user_id": user_id} if user_id else {})})
    r.raise_for_status()
    return r.json()


async def outbox(http: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    r = await http.get("/sim/api/outbox", params={k: v for k, v in params.items() if v is not None})
    r.raise_for_status()
    return r.json()


async def outbox_seq(http: httpx.AsyncClient) -> int:
    items = await outbox(http)
    return items[-1]["seq"] if items else 0


async def count(runtime, slug: str, sql: str, *args: Any) -> int:
    async with runtime.db.tenant(slug) as conn:
        return await conn.fetchval(sql, *args)


async def drain(runtime, *, rounds: int = 6, timeout: float = 30.0) -> int:
    """Run the worker until no job is ready, a few rounds (a job may enqueue the next one)."""
    from motcua.worker import Worker

    worker = Worker(runtime, concurrency=8)
    total = 0
    for _ in range(rounds):
        n = await worker.run_until_idle(timeout=timeout)
        total += n
        if n == 0:
            break
    return total


# ---- subprocesses ---------------------------------------------------------------------------


@dataclass
class Proc:
    """A ``python -m motcua ...`` child with its output in a file (appended to the session log)."""

    args: list[str]
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen | None = None
    port: int | None = None
    _log: Any = field(default=None, repr=False)

    def start(self) -> Proc:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen([sys.executable, "-m", "motcua", *self.args], env=self.env, cwd=ROOT,
                                      stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL: no clean-up, no flush, exactly what an OOM kill or a node loss does."""
        if self.alive():
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)

    def stop(self, timeout: float = 10) -> None:
        if self.alive():
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        if self._log:
            self._log.close()
            self._log = None
        # The session's log scan (tests/zz_logs) reads what our children wrote too.
        session_log = os.environ.get("MOTCUA_TEST_LOG_FILE")
        if session_log and self.log_path.exists():
            with open(session_log, "a", encoding="utf-8") as out:
                out.write(self.log_path.read_text(encoding="utf-8", errors="replace"))

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""


def child_env(settings, database, **extra: str) -> dict[str, str]:
    """The environment a pod would get: the test database's two roles, the same master key and
    tenants, Zalo pointing at the simulator of the test server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOTCUA_")}
    env.update({
        "MOTCUA_DATABASE_URL": database.owner_url,
        "MOTCUA_APP_DATABASE_URL": database.app_url,
        "MOTCUA_MASTER_KEY": settings.master_key,
        "MOTCUA_DATA_DIR": str(settings.data_dir),
        "MOTCUA_TENANTS_DIR": str(settings.tenants_dir),
        "MOTCUA_PUBLIC_URL": settings.public_url,
        "MOTCUA_ZALO_OPENAPI_URL": settings.zalo.openapi_url,
        "MOTCUA_ZALO_OAUTH_URL": settings.zalo.oauth_url,
        "MOTCUA_ZALO_BUSINESS_URL": settings.zalo.business_url,
        "MOTCUA_ZALO_GRAPH_URL": settings.zalo.graph_url,
        "MOTCUA_LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra)
    return env


async def start_server(settings, database, tmp_path: Path, *, name: str = "serve", **extra: str) -> Proc:
    port = free_port()
    proc = Proc(["serve", "--host", "127.0.0.1", "--port", str(port)], child_env(settings, database, **extra),
                tmp_path / f"{name}.log")
    proc.port = port
    proc.start()
    await wait_ready(proc)
    return proc


async def wait_ready(proc: Proc, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            if not proc.alive():
                raise AssertionError(f"motcua {' '.join(proc.args)} exited:\n{proc.output()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{proc.url}/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise AssertionError(f"motcua serve not ready in {timeout} s:\n{proc.output()[-3000:]}")


def start_worker(settings, database, tmp_path: Path, *, name: str = "worker", concurrency: int = 8,
                 **extra: str) -> Proc:
    return Proc(["worker", "--concurrency", str(concurrency)], child_env(settings, database, **extra),
                tmp_path / f"{name}.log").start()
