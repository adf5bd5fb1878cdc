"""One province floods (hundreds of citizens write at once); another province's citizen still
gets an answer within their normal time. The queue claims a few jobs per tenant per round
(``per_tenant``), so the flood waits behind itself, not in front of everyone else."""

from __future__ import annotations

import asyncio
import time

import pytest

from motcua.worker import Worker

from .conftest import report
from .helpers import count, drain, outbox, outbox_seq, sim_users

pytestmark = pytest.mark.faults

FLOOD = "ca-mau"
QUIET = "an-giang"
FLOOD_SIZE = 200
PROBES = 3
BACKLOG = "SELECT count(*) FROM job WHERE kind IN ('zalo.message', 'zalo.event', 'zalo.send')"


async def reply_time(sim, oa, since: int) -> float:
    """Seconds from the citizen's message to the reply in the simulator's outbox."""
    user = (await sim_users(sim, oa.slug, 1))[0]
    body, headers = oa.signed(oa.text_event(user, "xin chào"))
    started = time.monotonic()
    r = await sim.post(oa.path, content=body, headers=headers)
    assert r.status_code == 200
    while not await outbox(sim, since=since, user_id=user):
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def test_a_flooding_tenant_does_not_delay_another(runtime, sim, oas):
    quiet, loud = oas[QUIET], oas[FLOOD]
    await drain(runtime)
    worker = Worker(runtime, concurrency=8, poll_seconds=0.2)
    task = asyncio.create_task(worker.run())
    try:
        async with asyncio.timeout(100):
            since = await outbox_seq(sim)
            normal = sorted([await reply_time(sim, quiet, since) for _ in range(PROBES)])

            # The flood: FLOOD_SIZE citizens of one province at once, acknowledged as fast as we can.
            flood_users = await sim_users(sim, FLOOD, FLOOD_SIZE)
            sem = asyncio.Semaphore(16)

            async def post(user: str) -> None:
                body, headers = loud.signed(loud.text_event(user, "xin chào"))
                async with sem:
                    r = await sim.post(loud.path, content=body, headers=headers)
                    assert r.status_code == 200

            t0 = time.monotonic()
            await asyncio.gather(*(post(u) for u in flood_users))
            flood_posted = time.monotonic() - t0
            backlog = await count(runtime, FLOOD, BACKLOG)
            during = sorted([await reply_time(sim, quiet, since) for _ in range(PROBES)])
            flood_left = await count(runtime, FLOOD, BACKLOG)
            # The flood itself is still served, at the OA's send rate.
            while len({m["user_id"] for m in await outbox(sim, since=since, tenant=FLOOD)} & set(flood_users)) < FLOOD_SIZE:
                await asyncio.sleep(0.2)
            flood_done = time.monotonic() - t0
    finally:
        worker.stop()
        await asyncio.wait_for(task, 30)

    report("one tenant floods", flood=FLOOD_SIZE, flood_posted_s=f"{flood_posted:.1f}", backlog_after_post=backlog,
           backlog_after_probes=flood_left, quiet_normal_s=[f"{t:.2f}" for t in normal],
           quiet_during_flood_s=[f"{t:.2f}" for t in during], flood_all_answered_s=f"{flood_done:.1f}")
    assert flood_left > 0, "the flood was already drained: the probes did not run during it"
    # "Within their normal time": no worse than twice the median normal reply, plus half a second.
    assert max(during) <= 2 * normal[len(normal) // 2] + 0.5, (normal, during)
