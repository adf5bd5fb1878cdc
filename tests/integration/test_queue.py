"""The PostgreSQL job queue: enqueued with the change, claimed fairly, retried, parked, re-run
after a crash, and each job's database effect happens once."""

from __future__ import annotations

import asyncio
import pytest

from motcua.db.database import connect
from motcua.jobs import Job, JobContext, Retry, enqueue, queue
from motcua.plugins import Plugins, get_plugin_manager, hookimpl
from motcua.runtime import Runtime
from motcua.tenancy.apply import apply_tenant
from motcua.tenancy.schema import AdapterConfig, Tenant, TenantFile
from motcua.worker import Worker

T1, T2 = "queue-a", "queue-b"


class Handlers:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []
        self.fail_times: dict[int, int] = {}

    async def effect(self, job: Job, ctx: JobContext) -> None:
        """A side effect in the job's own transaction: an audit row."""
        self.calls.append((job.tenant_id, job.payload["n"]))
        await ctx.conn.execute("INSERT INTO audit_log (tenant_id, actor, action, entity, entity_id) "
                               "VALUES ($1, 'test', 'effect', 'job', $2)", job.tenant_id, str(job.payload["n"]))
        left = self.fail_times.get(job.payload["n"], 0)
        if left:
            self.fail_times[job.payload["n"]] = left - 1
            raise RuntimeError("transient")  # rolls the audit row back with it

    async def later(self, job: Job, ctx: JobContext) -> None:
        raise Retry("not yet", delay=3600)

    @hookimpl
    def motcua_register_jobs(self, registry) -> None:
        registry.register("test.effect", self.effect)
        registry.register("test.later", self.later)


@pytest.fixture
async def rt(database, settings):
    conn = await connect(database.owner_url)
    try:
        for slug, h in ((T1, "Q01"), (T2, "Q02")):
            await apply_tenant(conn, _crypto(settings), Tenant(slug=slug, file=TenantFile(
                name=slug, stat_code="96", agency_code=h, adapter=AdapterConfig(family="none"))), environ={})
    finally:
        await conn.close()
    handlers = Handlers()
    runtime = await Runtime.start(settings, plugins=Plugins(pm=get_plugin_manager(extra=(handlers,))), migrate_db=False)
    runtime.state["handlers"] = handlers
    for slug in (T1, T2):
        async with runtime.db.tenant(slug) as c:
            await c.execute("DELETE FROM job")
            await c.execute("DELETE FROM audit_log")
    yield runtime
    await runtime.close()


def _crypto(settings):
    from motcua.crypto import Crypto, parse_master_key

    return Crypto(parse_master_key(settings.master_key))


async def effects(rt, slug) -> list[str]:
    async with rt.db.tenant(slug) as c:
        return sorted([r["entity_id"] for r in await c.fetch("SELECT entity_id FROM audit_log")], key=int)


async def test_a_job_enqueued_in_a_rolled_back_transaction_never_runs(rt):
    with pytest.raises(RuntimeError):
        async with rt.db.tenant(T1) as c:
            await enqueue(c, T1, "test.effect", {"n": 1})
            raise RuntimeError("the change failed")
    assert await Worker(rt, tenants=[T1, T2]).run_until_idle() == 0


async def test_dedupe_key_keeps_one_waiting_job(rt):
    async with rt.db.tenant(T1) as c:
        first = await enqueue(c, T1, "test.effect", {"n": 1}, dedupe_key="k")
        second = await enqueue(c, T1, "test.effect", {"n": 2}, dedupe_key="k")
    assert first is not None and second is None
    await Worker(rt, tenants=[T1, T2]).run_until_idle()
    assert await effects(rt, T1) == ["1"]


async def test_a_failing_job_is_retried_and_its_effect_lands_once(rt):
    rt.state["handlers"].fail_times[7] = 2
    async with rt.db.tenant(T1) as c:
        await enqueue(c, T1, "test.effect", {"n": 7})
    worker = Worker(rt, tenants=[T1, T2])
    for _ in range(3):
        await worker.run_until_idle()
        async with rt.db.tenant(T1) as c:  # skip the backoff wait
            await c.execute("UPDATE job SET run_at = now()")
    assert await effects(rt, T1) == ["7"]
    assert [n for _, n in rt.state["handlers"].calls].count(7) == 3


async def test_a_poison_job_is_parked_with_its_error_and_others_still_run(rt):
    rt.state["handlers"].fail_times[9] = 99
    async with rt.db.tenant(T1) as c:
        await enqueue(c, T1, "test.effect", {"n": 9}, max_attempts=3)
        await enqueue(c, T1, "test.effect", {"n": 10})
    worker = Worker(rt, tenants=[T1, T2])
    for _ in range(4):
        await worker.run_until_idle()
        async with rt.db.tenant(T1) as c:
            await c.execute("UPDATE job SET run_at = now() WHERE status = 'queued'")
    async with rt.db.tenant(T1) as c:
        parked = await c.fetchrow("SELECT status, attempts, last_error FROM job")
    assert dict(parked) == {"status": "parked", "attempts": 3, "last_error": "RuntimeError: transient"}
    assert await effects(rt, T1) == ["10"]


async def test_unknown_kinds_are_parked_at_once(rt):
    async with rt.db.tenant(T1) as c:
        await enqueue(c, T1, "test.nobody_handles_this", {})
    await Worker(rt, tenants=[T1, T2]).run_until_idle()
    async with rt.db.tenant(T1) as c:
        assert await c.fetchval("SELECT status FROM job") == "parked"


async def test_retry_does_not_spend_an_attempt(rt):
    async with rt.db.tenant(T1) as c:
        await enqueue(c, T1, "test.later", {})
    await Worker(rt, tenants=[T1, T2]).run_until_idle()
    async with rt.db.tenant(T1) as c:
        row = await c.fetchrow("SELECT status, attempts, run_at > now() + interval '50 minutes' AS later FROM job")
    assert dict(row) == {"status": "queued", "attempts": 0, "later": True}


async def test_a_crashed_workers_job_runs_again_after_its_lease(rt):
    async with rt.db.tenant(T1) as c:
        await enqueue(c, T1, "test.effect", {"n": 3})
    async with rt.db.system() as c:  # a worker claims it, then dies before finishing
        claimed = await queue.claim(c, 10, lease_seconds=0.2, tenants=[T1, T2])
    assert [j.payload["n"] for j in claimed] == [3]
    assert await Worker(rt, tenants=[T1, T2]).run_until_idle() == 0  # leased: nobody else takes it
    await asyncio.sleep(0.3)
    assert await Worker(rt, tenants=[T1, T2]).run_until_idle() == 1
    assert await effects(rt, T1) == ["3"]


async def test_one_tenants_flood_does_not_starve_another(rt):
    async with rt.db.tenant(T1) as c:
        for n in range(200):
            await enqueue(c, T1, "test.effect", {"n": n})
    async with rt.db.tenant(T2) as c:
        await enqueue(c, T2, "test.effect", {"n": 1000})
    async with rt.db.system() as c:
        first_batch = await queue.claim(c, 8, per_tenant=4, tenants=[T1, T2])
    assert sorted(j.tenant_id for j in first_batch) == [T1] * 4 + [T2]


async def test_the_worker_loop_wakes_on_notify(rt):
    worker = Worker(rt, poll_seconds=30, tenants=[T1, T2])  # long poll: only NOTIFY can wake it quickly
    task = asyncio.create_task(worker.run())
    await asyncio.sleep(0.3)
    async with rt.db.tenant(T2) as c:
        await enqueue(c, T2, "test.effect", {"n": 42})
    for _ in range(50):
        if "42" in await effects(rt, T2):
            break
        await asyncio.sleep(0.1)
    worker.stop()
    await asyncio.wait_for(task, 10)
    assert await effects(rt, T2) == ["42"]
