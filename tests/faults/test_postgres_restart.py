"""PostgreSQL restarted under load (the embedded server, in place, same port).

While it is down the web process answers 503 with Retry-After (Zalo retries those), never 500
and never a 200 it cannot keep. Afterwards the same process, without a restart of its own,
answers 200 again: its pool dropped the dead connections. A worker running all along picks up
again too, and every acknowledged event is in the database and processed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter

import httpx
import pytest

from motcua.worker import Worker

from .conftest import report
from .helpers import count, drain, new_user_id

pytestmark = pytest.mark.faults

SLUG = "dong-nai"
CONCURRENCY = 8


def restart(embedded) -> None:
    """``pg_ctl restart`` in place, same port and options. With ``-l``: without a log file the new
    postmaster keeps pg_ctl's output pipe open and the caller waits for it until its timeout
    (``EmbeddedPostgres.restart`` has that problem; reported, not ours to change)."""
    from motcua.db.embedded import _bin

    embedded._run([_bin("pg_ctl"), "-D", str(embedded.pgdata), "-w", "-m", "fast", "-l",
                   str(embedded.pgdata / "server.log"), "restart"], timeout=60)


async def test_postgres_restart_under_load_503_then_recovery(database, runtime, server, oas):
    if database.embedded is None:
        pytest.skip("PostgreSQL is external (MOTCUA_DATABASE_URL): this test restarts only the embedded server")
    oa = oas[SLUG]
    statuses: Counter[int] = Counter()
    acked: list[str] = []
    timeline: list[tuple[float, int]] = []
    stop = asyncio.Event()
    t0 = time.monotonic()

    async def client() -> None:
        async with httpx.AsyncClient(base_url=server, timeout=10) as http:
            while not stop.is_set():
                event = oa.text_event(new_user_id(), "hỏi trong lúc khởi động lại")
                body, headers = oa.signed(event)
                try:
                    r = await http.post(oa.path, content=body, headers=headers)
                    code = r.status_code
                    if code == 503:
                        assert r.headers.get("retry-after"), "a 503 without Retry-After"
                except httpx.HTTPError:
                    code = 0
                statuses[code] += 1
                timeline.append((time.monotonic() - t0, code))
                if code == 200:
                    acked.append(event["message"]["msg_id"])
                elif code != 0:
                    await asyncio.sleep(0.05)

    await drain(runtime)
    # A job that failed while the database was down could not record its failure either: it
    # stays leased until the lease ends, then runs again. A short lease keeps the test short.
    worker = Worker(runtime, concurrency=4, poll_seconds=0.5, lease_seconds=5)
    worker_task = asyncio.create_task(worker.run())
    clients = [asyncio.create_task(client()) for _ in range(CONCURRENCY)]
    try:
        async with asyncio.timeout(60):
            await asyncio.sleep(1.0)
            restart_at = time.monotonic() - t0
            await asyncio.to_thread(restart, database.embedded)
            back_at = time.monotonic() - t0
            # Recovery: the same process answers 200 to every request for a full second.
            recovered_at = None
            while recovered_at is None:
                await asyncio.sleep(0.25)
                recent = [c for t, c in timeline if t > time.monotonic() - t0 - 1.0]
                if len(recent) >= 10 and all(c == 200 for c in recent):
                    recovered_at = time.monotonic() - t0
            await asyncio.sleep(0.5)
    finally:
        stop.set()
        await asyncio.gather(*clients, return_exceptions=True)

    try:
        async with asyncio.timeout(30):
            while await count(runtime, SLUG, "SELECT count(*) FROM webhook_event WHERE source = 'zalo' AND "
                              "processed_at IS NULL AND event_key = ANY($1)", [f"user_send_text:{m}" for m in acked]):
                await asyncio.sleep(0.2)
    finally:
        worker.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(worker_task, 15)

    during = Counter(c for t, c in timeline if restart_at <= t <= back_at + 0.5)
    stored = await count(runtime, SLUG, "SELECT count(*) FROM webhook_event WHERE source = 'zalo' AND "
                         "event_key = ANY($1)", [f"user_send_text:{m}" for m in acked])
    report("PostgreSQL restart under load", requests=sum(statuses.values()), by_status=dict(statuses),
           during_restart=dict(during), restart_s=f"{back_at - restart_at:.1f}",
           recovered_after_s=f"{recovered_at - back_at:.1f}", acked=len(acked), stored=stored)
    assert statuses[500] == 0, "a 500 during the restart: database outages must answer 503"
    assert statuses[503] > 0, "no 503: the restart did not happen under load"
    assert set(statuses) <= {200, 503}, statuses  # 0 would be the web process itself failing
    assert recovered_at - back_at < 10, "the web process did not recover within 10 s of the database"
    assert stored == len(acked), "an acknowledged event is missing"
