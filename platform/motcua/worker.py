"""The worker: claims jobs across tenants, runs each in its tenant's transaction, fires schedules.

Wakes on ``NOTIFY motcua_jobs`` (sent when a job is inserted while workers may be idle), when
one of its own jobs ends, or every ``poll_seconds``. Jobs of a kind with a batch handler run
several at a time in one transaction (``JobRegistry.register(..., batch=...)``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from motcua import metrics, tracing
from motcua.db.database import connect, savepoint
from motcua.jobs import queue
from motcua.jobs.queue import Job
from motcua.jobs.registry import JobContext, Retry
from motcua.runtime import Runtime

log = logging.getLogger(__name__)


class Worker:
    def __init__(self, runtime: Runtime, *, concurrency: int = 8, poll_seconds: float = 1.0,
                 lease_seconds: float = 120.0, per_tenant: int = 4, tenants: list[str] | None = None) -> None:
        self.rt = runtime
        self.tenants = tenants  # None: every tenant; else only these (a dedicated worker, a test)
        self.concurrency = concurrency
        self.poll_seconds = poll_seconds
        self.lease_seconds = lease_seconds
        self.per_tenant = per_tenant
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._running: set[asyncio.Task[None]] = set()
        self.processed = 0

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    async def _listen(self, listener):
        """The LISTEN connection, (re)opened when missing or dead. Without it the worker still
        polls every ``poll_seconds``, so a database restart only slows wake-ups for a moment."""
        if listener is not None and not listener.is_closed():
            return listener
        if time.monotonic() < self._listen_retry_at:
            return None
        self._listen_retry_at = time.monotonic() + 5
        listener = None
        try:
            listener = await asyncio.wait_for(connect(self.rt.db.url), 5)
            await listener.add_listener("motcua_jobs", lambda *_: self._wake.set())
            return listener
        except (OSError, Exception) as exc:  # noqa: BLE001 - database down: poll meanwhile
            log.warning("listening for new jobs failed: %s", exc.__class__.__name__)
            if listener is not None:
                listener.terminate()
            return None

    async def run(self) -> None:
        self._listen_retry_at = 0.0
        listener = await self._listen(None)
        slots = asyncio.Semaphore(self.concurrency)
        next_schedule = 0.0
        try:
            while not self._stop.is_set():
                listener = await self._listen(listener)
                if time.monotonic() >= next_schedule:
                    await self._fire_schedules()
                    next_schedule = time.monotonic() + 5
                self._wake.clear()  # before looking: a wake-up from here on is not lost
                free = self.concurrency - len(self._running)
                jobs: list[Job] = []
                if free > 0:
                    try:
                        # A claim lost in a crash is harmless (the jobs stay queued), so its
                        # commit need not wait for the disk.
                        async with self.rt.db.system(durable=False) as conn:
                            jobs = await queue.claim(conn, free, per_tenant=self.per_tenant,
                                                     lease_seconds=self.lease_seconds, tenants=self.tenants)
                    except (OSError, Exception) as exc:  # database down: wait and retry, never crash
                        log.warning("claiming jobs failed: %s", exc)
                        await asyncio.sleep(self.poll_seconds)
                        continue
                for job in jobs:
                    await slots.acquire()
                    task = asyncio.create_task(self._run_one(job))
                    self._running.add(task)
                    # A finished job frees a slot: claim again now rather than at the next poll
                    # (enqueues skip NOTIFY while jobs are waiting or from a worker, see
                    # motcua_notify_jobs).
                    task.add_done_callback(lambda t: (self._running.discard(t), slots.release(), self._wake.set()))
                if not jobs or len(jobs) < free:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
        finally:
            if self._running:
                await asyncio.gather(*self._running, return_exceptions=True)
            if listener is not None:
                with contextlib.suppress(Exception):
                    await listener.close()

    async def run_until_idle(self, timeout: float = 30.0) -> int:
        """Process jobs until none is ready (tests and ``motcua sync``). Returns how many ran."""
        deadline = time.monotonic() + timeout
        done = 0
        while time.monotonic() < deadline:
            async with self.rt.db.system() as conn:
                jobs = await queue.claim(conn, self.concurrency, per_tenant=self.per_tenant,
                                         lease_seconds=self.lease_seconds, tenants=self.tenants)
            if not jobs:
                return done
            done += sum(await asyncio.gather(*(self._run_one(j) for j in jobs)))
        return done

    async def _fire_schedules(self) -> None:
        try:
            async with self.rt.db.system() as conn:
                due = await conn.fetch("SELECT * FROM motcua_claim_schedules()")
            for row in due:
                async with self.rt.db.tenant(row["tenant_id"]) as conn:
                    await queue.enqueue(conn, row["tenant_id"], row["kind"], row["payload"],
                                        dedupe_key=f"schedule:{row['kind']}")
        except Exception as exc:  # noqa: BLE001 - a failed tick is retried at the next one
            log.warning("firing schedules failed: %s", exc)

    async def _run_one(self, job: Job) -> int:
        """Runs ``job`` (perhaps in a batch with others); returns how many jobs ran."""
        started = time.perf_counter()
        outcome = "done"
        with tracing.job_span(job) as span:
            job = _untraced(job)
            handler = self.rt.plugins.jobs.get(job.kind)
            done = [job]
            try:
                if handler is None:
                    raise LookupError(f"no handler for job kind {job.kind!r}")
                async with self.rt.db.tenant(job.tenant_id, wake_workers=False) as conn:
                    ctx = JobContext(runtime=self.rt, conn=conn, tenant_id=job.tenant_id)
                    done = await self._run_batch(job, ctx)
                    if job.id not in {j.id for j in done}:
                        await handler(job, ctx)
                        done.append(job)
                    await queue.complete(conn, done)
                self.processed += len(done)
            except Retry as exc:
                done = [job]
                outcome = "retry"
                await self._record_failure(job, f"retry: {exc}", delay=exc.delay, count_attempt=False)
            except Exception as exc:  # noqa: BLE001 - one job's failure never stops the worker
                done = [job]
                log.warning("job %s %s/%s failed (attempt %s): %s", job.kind, job.tenant_id, job.id, job.attempts,
                            exc.__class__.__name__)
                unknown = isinstance(exc, LookupError) and handler is None
                parked = unknown or job.attempts >= job.max_attempts
                outcome = "parked" if parked else "failed"
                await self._record_failure(job, f"{exc.__class__.__name__}: {exc}", count_attempt=True,
                                           park=unknown)
            finally:
                metrics.JOBS.labels(job.tenant_id, job.kind, outcome).inc(len(done))
                for _ in done:
                    metrics.JOB_LATENCY.labels(job.kind).observe(time.perf_counter() - started)
                if span is not None:
                    span.set_attribute("motcua.job.outcome", outcome)
        return len(done)

    async def _run_batch(self, job: Job, ctx: JobContext) -> list[Job]:
        """``job`` and other ready jobs of its tenant and kind, done together by the kind's batch
        handler in this transaction. Those it did are returned; [] when the kind has no batch
        handler, nothing else is waiting, or the batch failed (then ``job`` runs alone)."""
        batch = self.rt.plugins.jobs.batch_handlers.get(job.kind)
        if batch is None:
            return []
        handler, size = batch
        others = await queue.take_more(ctx.conn, job, size - 1)
        if not others:
            return []
        jobs = [job, *(_untraced(j) for j in others)]
        try:
            async with savepoint(ctx.conn):
                ids = await handler(jobs, ctx)
        except Exception as exc:  # noqa: BLE001 - undone by the savepoint; each job still runs on its own
            log.warning("a batch of %s %s jobs failed, running %s alone: %s", len(jobs), job.kind, job.id,
                        exc.__class__.__name__)
            return []
        return [j for j in jobs if j.id in ids]

    async def _record_failure(self, job: Job, error: str, *, delay: float | None = None,
                              count_attempt: bool = True, park: bool = False) -> None:
        if park:
            job = Job(job.tenant_id, job.id, job.kind, job.payload, job.max_attempts, job.max_attempts, job.dedupe_key)
        try:
            async with self.rt.db.tenant(job.tenant_id) as conn:
                await queue.fail(conn, job, error, delay=delay, count_attempt=count_attempt)
        except Exception as exc:  # noqa: BLE001 - the lease expires and the job is claimed again
            log.warning("could not record failure of job %s: %s", job.id, exc)


def _untraced(job: Job) -> Job:
    """The job as its handler sees it: the trace context in its payload is the worker's."""
    if tracing.TRACE_KEY not in job.payload:
        return job
    return Job(job.tenant_id, job.id, job.kind, {k: v for k, v in job.payload.items() if k != tracing.TRACE_KEY},
               job.attempts, job.max_attempts, job.dedupe_key)
