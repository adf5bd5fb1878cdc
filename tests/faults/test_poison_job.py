"""A poison job: its handler fails every time. The running worker retries it with growing,
jittered delays, parks it with its error after ``max_attempts``, and keeps doing everything
else meanwhile: the other jobs of the same tenant and kind family all complete."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest

from motcua.jobs.queue import enqueue
from motcua.worker import Worker

from .conftest import report

pytestmark = pytest.mark.faults

SLUG = "ca-mau"
ATTEMPTS = 4
GOOD = 60


class Poisoned(Exception):
    pass


async def test_poison_job_backs_off_then_parks_and_others_flow(runtime, tenants):
    done: list[int] = []
    tries: list[float] = []

    async def poison(job, ctx):
        tries.append(time.monotonic())
        raise Poisoned(f"cannot digest payload {job.payload['n']}")

    async def good(job, ctx):
        done.append(job.payload["n"])

    runtime.plugins.jobs.register("faults.poison", poison)
    runtime.plugins.jobs.register("faults.good", good)
    async with runtime.db.tenant(SLUG) as conn:
        poison_id = await enqueue(conn, SLUG, "faults.poison", {"n": -1}, max_attempts=ATTEMPTS)
        for n in range(GOOD):
            await enqueue(conn, SLUG, "faults.good", {"n": n})

    worker = Worker(runtime, concurrency=4, poll_seconds=0.1)
    task = asyncio.create_task(worker.run())
    delays: list[float] = []
    try:
        async with asyncio.timeout(45):
            while True:
                async with runtime.db.tenant(SLUG) as conn:
                    row = await conn.fetchrow("SELECT status, attempts, run_at, last_error FROM job "
                                              "WHERE tenant_id = $1 AND id = $2", SLUG, poison_id)
                    if row["status"] == "parked":
                        break
                    if row["status"] == "queued" and row["attempts"] > len(delays):
                        # Backoff observed: the next try is scheduled in the future, then we skip the
                        # wait (the schedule is what we check; sleeping through it would only be slow).
                        wait = (row["run_at"] - datetime.now(UTC)).total_seconds()
                        delays.append(wait)
                        await conn.execute("UPDATE job SET run_at = now() WHERE tenant_id = $1 AND id = $2",
                                           SLUG, poison_id)
                await asyncio.sleep(0.05)
            while len(done) < GOOD:
                await asyncio.sleep(0.05)
    finally:
        worker.stop()
        await asyncio.wait_for(task, 15)

    async with runtime.db.tenant(SLUG) as conn:
        parked = await conn.fetchrow("SELECT status, attempts, last_error FROM job WHERE tenant_id = $1 AND id = $2",
                                     SLUG, poison_id)
        left = await conn.fetchval("SELECT count(*) FROM job WHERE tenant_id = $1 AND kind = 'faults.good'", SLUG)
        # A parked job does not block a new one with the same dedupe key (it waits for a person).
        again = await enqueue(conn, SLUG, "faults.poison", {"n": -2}, dedupe_key="poison", max_attempts=1)
        again2 = await enqueue(conn, SLUG, "faults.poison", {"n": -3}, dedupe_key="poison", max_attempts=1)
        await conn.execute("DELETE FROM job WHERE tenant_id = $1 AND kind = 'faults.poison'", SLUG)
    report("poison job", attempts=parked["attempts"], tries=len(tries),
           backoff_s=[f"{d:.2f}" for d in delays], parked_error=parked["last_error"][:60],
           other_jobs_done=len(done), other_jobs_left=left)
    assert parked["status"] == "parked" and parked["attempts"] == ATTEMPTS and len(tries) == ATTEMPTS
    assert "Poisoned" in parked["last_error"] and "cannot digest payload -1" in parked["last_error"]
    assert len(delays) == ATTEMPTS - 1 and all(d > 0.5 for d in delays), delays  # backed off every time
    assert sorted(done) == list(range(GOOD)) and left == 0
    assert again is not None and again2 is None
