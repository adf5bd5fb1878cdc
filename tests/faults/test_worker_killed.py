"""``motcua worker`` killed with SIGKILL in the middle of a ``zalo.send`` job: after Zalo has
accepted the message, before the worker committed that it was sent.

To stop the worker at exactly that point, the test holds a SHARE lock on ``message`` (the job
writes the outbound message row after Zalo's answer, in its own transaction), waits until the
simulator has the message, and kills the worker. The job's lease then expires (fast-forwarded:
the production lease is two minutes), a new worker runs the job again, and the citizen still
gets the message once: the second run finds Zalo's echo of the first send and records it.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from motcua.db.database import connect

from .conftest import report
from .helpers import citizen_says, count, drain, new_user_id, outbox, outbox_seq, start_worker

pytestmark = pytest.mark.faults

SLUG = "an-giang"


def said_text(item: dict) -> str | None:
    return (item.get("content") or {}).get("text")


async def wait_until(predicate, timeout: float, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := await predicate():
            return result
        await asyncio.sleep(step)
    raise AssertionError(f"condition not met within {timeout} s")


async def test_sigkill_after_the_send_before_the_commit_sends_once(settings, database, runtime, sim, oas, tmp_path):
    from motcua.channels.zalo.outbox import queue_message

    user = new_user_id()
    said = await citizen_says(sim, SLUG, "xin chào", user)  # opens the reply window, creates the citizen
    assert said["status_code"] == 200
    await drain(runtime)
    citizen = await count(runtime, SLUG, "SELECT id FROM citizen WHERE zalo_user_id = $1", user)
    text = f"Hồ sơ của bạn đã được tiếp nhận (kiểm thử {user[-6:]})."
    since = await outbox_seq(sim)

    async with asyncio.timeout(90):
        blocker = await connect(database.owner_url)
        worker = None
        try:
            tx = blocker.transaction()
            await tx.start()
            await blocker.execute("LOCK TABLE message IN SHARE MODE")
            async with runtime.db.tenant(SLUG) as conn:
                nid = await queue_message(conn, runtime, SLUG, citizen, kind="test", text=text,
                                          dedupe_key=f"fault-worker-kill:{user}")
            worker = start_worker(settings, database, tmp_path, name="worker-1")

            async def accepted():
                return [m for m in await outbox(sim, since=since, user_id=user) if said_text(m) == text]

            first = await wait_until(accepted, 30)
            # The worker is now blocked inside the job, after Zalo accepted the message.
            await asyncio.sleep(0.3)
            status = await count(runtime, SLUG, "SELECT status FROM notification WHERE id = $1", nid)
            assert status == "queued", "the job committed before the kill: the test did not catch it mid-job"
            worker.kill()
            await tx.rollback()
        finally:
            if worker:
                worker.stop()
            await blocker.close()

        lease = await blocker_free_lease(database, SLUG, nid)
        worker2 = start_worker(settings, database, tmp_path, name="worker-2")
        try:
            async def sent():
                return await count(runtime, SLUG, "SELECT status = 'sent' FROM notification WHERE id = $1", nid)

            await wait_until(sent, 40, step=0.1)
        finally:
            worker2.stop()

    delivered = [m for m in await outbox(sim, since=since, user_id=user) if said_text(m) == text]
    attempts = await count(runtime, SLUG, "SELECT count(*) FROM zalo_send_attempt WHERE notification_id = $1", nid)
    msg_id = await count(runtime, SLUG, "SELECT zalo_msg_id FROM notification WHERE id = $1", nid)
    outbound_rows = await count(runtime, SLUG, "SELECT count(*) FROM message WHERE direction = 'out' AND "
                                "payload->>'notification_id' = $1::text", str(nid))
    job_left = await count(runtime, SLUG, "SELECT count(*) FROM job WHERE kind = 'zalo.send' AND "
                           "payload->>'notification_id' = $1::text", str(nid))
    report("worker SIGKILL mid-send", accepted_before_kill=len(first), lease_left_s=f"{lease:.0f}",
           deliveries_to_citizen=len(delivered), send_attempts=attempts, outbound_rows=outbound_rows)
    assert len(delivered) == 1, "the citizen got the message twice (or never)"
    assert msg_id == delivered[0]["msg_id"]
    assert attempts == 1  # the second run recorded the echo instead of calling Zalo again
    assert outbound_rows == 1 and job_left == 0


async def blocker_free_lease(database, slug: str, nid: int) -> float:
    """Expire the dead worker's lease now (what two minutes would do); returns what was left of it."""
    conn = await connect(database.owner_url)
    try:
        left = await conn.fetchval(
            "UPDATE job SET locked_until = now() - interval '1 second' FROM (SELECT tenant_id, id, "
            "extract(epoch FROM locked_until - now()) AS left FROM job WHERE tenant_id = $1 AND kind = 'zalo.send' "
            "AND payload->>'notification_id' = $2::text AND status = 'running') old "
            "WHERE job.tenant_id = old.tenant_id AND job.id = old.id RETURNING old.left", slug, str(nid))
    finally:
        await conn.close()
    assert left is not None, "the killed worker's job is not running under a lease"
    return float(left)
