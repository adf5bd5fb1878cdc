"""``motcua serve`` killed with SIGKILL in the middle of a webhook burst.

Zalo's promise to us is "a 200 means you have it": every event that got a 200 must be in the
database after the crash. Zalo then retries what it did not get a 200 for (we re-send every
event, acknowledged or not, as a replay storm would), and each event is stored and processed
exactly once.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from .conftest import report
from .helpers import count, drain, sim_users, start_server

pytestmark = pytest.mark.faults

EVENTS = 240
KILL_AFTER = 80  # acknowledgements seen before the kill
CONCURRENCY = 16


async def burst(url: str, oa, events: list[dict], acked: dict[str, int], *, stop_after: int | None = None,
                on_threshold=None) -> dict[str, int]:
    """Post every event (signed) with CONCURRENCY clients; record the status of each msg_id."""
    outcomes = {"ok": 0, "error": 0, "refused": 0}
    queue: asyncio.Queue = asyncio.Queue()
    for e in events:
        queue.put_nowait(e)
    fired = False

    async def client() -> None:
        nonlocal fired
        async with httpx.AsyncClient(base_url=url, timeout=5) as http:
            while not queue.empty():
                event = queue.get_nowait()
                body, headers = oa.signed(event)
                try:
                    r = await http.post(oa.path, content=body, headers=headers)
                except httpx.HTTPError:
                    outcomes["error"] += 1
                    continue
                if r.status_code == 200:
                    acked[event["message"]["msg_id"]] = acked.get(event["message"]["msg_id"], 0) + 1
                    outcomes["ok"] += 1
                    if stop_after and not fired and outcomes["ok"] >= stop_after:
                        fired = True
                        on_threshold()
                else:
                    outcomes["refused"] += 1

    await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
    return outcomes


async def test_sigkill_mid_burst_loses_no_acknowledged_event_and_processes_each_once(
        settings, database, runtime, sim, oas, tmp_path):
    oa = oas["ca-mau"]
    users = await sim_users(sim, oa.slug, EVENTS)
    events = [oa.text_event(u, f"câu hỏi số {i}") for i, u in enumerate(users)]
    ids = [e["message"]["msg_id"] for e in events]
    async with asyncio.timeout(90):
        web = await start_server(settings, database, tmp_path, name="web-1")
        acked_first: dict[str, int] = {}
        killed_at: list[float] = []

        def kill() -> None:
            web.kill()
            killed_at.append(time.monotonic())

        try:
            first = await burst(web.url, oa, events, acked_first, stop_after=KILL_AFTER, on_threshold=kill)
        finally:
            web.stop()
        assert killed_at, "the burst ended before the kill"
        assert len(acked_first) >= KILL_AFTER and first["error"] > 0, first

        stored = await count(runtime, oa.slug, "SELECT count(*) FROM webhook_event WHERE source = 'zalo' AND "
                             "event_key = ANY($1)", [f"user_send_text:{m}" for m in acked_first])
        assert stored == len(acked_first), "an acknowledged event was lost in the crash"
        stored_any = await count(runtime, oa.slug, "SELECT count(*) FROM webhook_event WHERE source = 'zalo' AND "
                                 "event_key = ANY($1)", [f"user_send_text:{m}" for m in ids])

        # Zalo retries: a new web process gets every event again (acknowledged ones included).
        web2 = await start_server(settings, database, tmp_path, name="web-2")
        try:
            acked_second: dict[str, int] = {}
            second = await burst(web2.url, oa, events, acked_second)
        finally:
            web2.stop()
        assert second == {"ok": EVENTS, "error": 0, "refused": 0}, second

        per_event = await count(runtime, oa.slug, "SELECT count(*) FROM webhook_event WHERE source = 'zalo' AND "
                                "event_key = ANY($1)", [f"user_send_text:{m}" for m in ids])
        assert per_event == EVENTS  # UNIQUE(tenant, source, event_key): each stored once
        jobs = await count(runtime, oa.slug, "SELECT count(*) FROM job j JOIN webhook_event w ON w.tenant_id = "
                           "j.tenant_id AND w.id = (j.payload->>'event_id')::bigint WHERE j.kind = 'zalo.message' "
                           "AND w.event_key = ANY($1)", [f"user_send_text:{m}" for m in ids])
        assert jobs == EVENTS  # one job per stored event, none for the duplicates

        started = time.monotonic()
        await drain(runtime, rounds=20, timeout=60)
        drained = time.monotonic() - started
        inbound = await count(runtime, oa.slug, "SELECT count(*) FROM message WHERE direction = 'in' AND "
                              "zalo_msg_id = ANY($1)", ids)
        twice = await count(runtime, oa.slug, "SELECT count(*) FROM (SELECT zalo_msg_id FROM message WHERE "
                            "direction = 'in' AND zalo_msg_id = ANY($1) GROUP BY 1 HAVING count(*) > 1) t", ids)
        unprocessed = await count(runtime, oa.slug, "SELECT count(*) FROM webhook_event WHERE source = 'zalo' AND "
                                  "event_key = ANY($1) AND processed_at IS NULL", [f"user_send_text:{m}" for m in ids])
        replies_twice = await count(runtime, oa.slug, "SELECT count(*) FROM (SELECT c.id FROM citizen c JOIN "
                                    "notification n ON n.tenant_id = c.tenant_id AND n.citizen_id = c.id WHERE "
                                    "c.zalo_user_id = ANY($1) GROUP BY 1 HAVING count(*) > 1) t", users)
    report("web SIGKILL mid-burst", events=EVENTS, acked_before_kill=len(acked_first),
           errors_at_kill=first["error"], stored_before_retry=stored_any, acked_on_retry=second["ok"],
           stored=per_event, processed=inbound, processed_twice=twice, drain_s=f"{drained:.1f}")
    assert inbound == EVENTS and twice == 0 and unprocessed == 0
    assert replies_twice == 0
