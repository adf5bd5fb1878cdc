"""`motcua demo` on a fresh data directory: serves /healthz and /readyz, and Ctrl-C stops it all."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, free_port

pytestmark = pytest.mark.slow


def _postgres_running(pgdata: str) -> bool:
    for proc in Path("/proc").iterdir():
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if args and args[0].endswith(b"postgres") and pgdata.encode() in args:
            return True
    return False


def test_demo_starts_serves_and_stops_cleanly(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOTCUA_")}
    env |= {"MOTCUA_DATA_DIR": str(tmp_path / "data"), "MOTCUA_LOG_LEVEL": "INFO"}
    # Sandboxes listen on the ports their tenant files name: use a copy with free ports.
    tenants = tmp_path / "tenants"
    tenants.mkdir()

    ports: dict[str, str] = {}
    for path in (ROOT / "tenants").glob("*.toml"):
        text = re.sub(r"127\.0\.0\.1:(\d+)", lambda m: "127.0.0.1:" + ports.setdefault(m.group(1), str(free_port())),
                      path.read_text(encoding="utf-8"))
        (tenants / path.name).write_text(text, encoding="utf-8")
    env["MOTCUA_TENANTS_DIR"] = str(tenants)
    proc = subprocess.Popen([sys.executable, "-m", "motcua", "demo", "--port", str(port)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    try:
        while time.monotonic() - started < 60:
            assert proc.poll() is None, proc.stdout.read()
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            pytest.fail("demo not ready within a minute")
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
        # The demo is usable at once: a citizen writes to Cà Mau's OA in the simulator and is answered.
        sent = httpx.post(f"{base}/sim/api/send", json={"tenant": "ca-mau", "type": "text", "text": "xin chao"},
                          timeout=10).json()
        assert sent["status_code"] == 200
        for _ in range(100):
            replies = httpx.get(f"{base}/sim/api/outbox", params={"user_id": sent["user_id"]}).json()
            if replies:
                break
            time.sleep(0.2)
        assert replies, "no reply reached the citizen in the simulator"
        pgdata = str((tmp_path / "data" / "pgdata").resolve())
        assert _postgres_running(pgdata)
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert f"Motcua is running at {base}" in output
    assert "stopped (database too)" in output
    # Logs are JSON lines (motcua.logs), never a library's default text format.
    assert not re.search(r"^(DEBUG|INFO|WARNING|ERROR) - ", output, re.M), output
    assert not _postgres_running(pgdata)
