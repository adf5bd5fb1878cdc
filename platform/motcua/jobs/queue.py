"""Enqueue, claim, complete, retry and park jobs. Plain asyncpg: this is a hot path."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from motcua import tracing


@dataclass(frozen=True, slots=True)
class Job:
    tenant_id: str
    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    dedupe_key: str | None = None

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Job:
        return cls(row["tenant_id"], row["id"], row["kind"], row["payload"], row["attempts"],
                   row["max_attempts"], row["dedupe_key"])


async def enqueue(conn: asyncpg.Connection, tenant_id: str, kind: str, payload: dict[str, Any] | None = None, *,
                  dedupe_key: str | None = None, run_at: datetime | None = None,
                  max_attempts: int = 8) -> int | None:
    """Add a job in the caller's (tenant) transaction. With a ``dedupe_key``, a job already
    waiting or running under that key wins and None is returned. When tracing is on, the
    current trace context rides along in the payload (``tracing.TRACE_KEY``)."""
    payload = tracing.inject_payload(payload or {})
    return await conn.fetchval(
        """INSERT INTO job (tenant_id, kind, payload, dedupe_key, run_at, max_attempts)
           VALUES ($1, $2, $3, $4, coalesce($5, now()), $6)
           ON CONFLICT (tenant_id, dedupe_key) WHERE dedupe_key IS NOT NULL AND status <> 'parked'
           DO NOTHING RETURNING id""",
        tenant_id, kind, payload, dedupe_key, run_at, max_attempts,
    )


async def enqueue_many(conn: asyncpg.Connection, tenant_id: str, kind: str, payloads: list[dict[str, Any]], *,
                       dedupe_keys: list[str | None], max_attempts: int = 8) -> None:
    """``enqueue`` for several jobs of one kind in one statement (a batch handler's follow-ups)."""
    await conn.execute(
        """INSERT INTO job (tenant_id, kind, payload, dedupe_key, max_attempts)
           SELECT $1, $2, p::jsonb, d, $5 FROM unnest($3::text[], $4::text[]) AS x(p, d)
           ON CONFLICT (tenant_id, dedupe_key) WHERE dedupe_key IS NOT NULL AND status <> 'parked' DO NOTHING""",
        tenant_id, kind, [json.dumps(tracing.inject_payload(p)) for p in payloads], dedupe_keys, max_attempts)


async def claim(conn: asyncpg.Connection, n: int, *, per_tenant: int = 4, lease_seconds: float = 60,
                tenants: list[str] | None = None) -> list[Job]:
    """Claim up to ``n`` ready jobs across tenants (or only ``tenants``), fairly per tenant."""
    rows = await conn.fetch("SELECT * FROM motcua_claim_jobs($1, $2, make_interval(secs => $3), $4)",
                            n, per_tenant, lease_seconds, tenants)
    return [Job.from_row(r) for r in rows]


async def take_more(conn: asyncpg.Connection, job: Job, n: int) -> list[Job]:
    """Up to ``n`` more ready jobs of ``job``'s tenant and kind, locked in the caller's tenant
    transaction, to run in one batch with it. Not claimed: if the transaction ends without
    deleting them they are simply still queued."""
    rows = await conn.fetch(
        """SELECT * FROM job WHERE tenant_id = $1 AND status = 'queued' AND run_at <= now() AND kind = $2
           AND id <> $3 ORDER BY run_at, id LIMIT $4 FOR UPDATE SKIP LOCKED""", job.tenant_id, job.kind, job.id, n)
    return [Job.from_row(r) for r in rows]


async def complete(conn: asyncpg.Connection, jobs: list[Job]) -> None:
    """Delete done jobs (of one tenant) in the handler's own tenant transaction."""
    await conn.execute("DELETE FROM job WHERE tenant_id = $1 AND id = ANY($2::bigint[])",
                       jobs[0].tenant_id, [j.id for j in jobs])


def backoff(attempts: int, *, base: float = 2.0, cap: float = 600.0) -> float:
    """Exponential backoff with full jitter: spreads retries so a recovering system is not stampeded."""
    return random.uniform(base / 2, min(cap, base * 2 ** max(0, attempts - 1)))


async def fail(conn: asyncpg.Connection, job: Job, error: str, *, delay: float | None = None,
               count_attempt: bool = True) -> str:
    """Schedule a retry, or park the job when its attempts are spent. Returns the new status."""
    if count_attempt and job.attempts >= job.max_attempts:
        await conn.execute("UPDATE job SET status = 'parked', locked_until = NULL, last_error = $3 "
                           "WHERE tenant_id = $1 AND id = $2", job.tenant_id, job.id, error[:2000])
        return "parked"
    wait = backoff(job.attempts) if delay is None else delay
    await conn.execute(
        "UPDATE job SET status = 'queued', locked_until = NULL, last_error = $3, "
        "run_at = now() + make_interval(secs => $4), attempts = attempts - $5 WHERE tenant_id = $1 AND id = $2",
        job.tenant_id, job.id, error[:2000], wait, 0 if count_attempt else 1)
    return "queued"
