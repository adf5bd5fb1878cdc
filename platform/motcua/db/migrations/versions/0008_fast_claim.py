"""Claim jobs at a cost that does not grow with the queue; wake workers only when it helps.

The first ``motcua_claim_jobs`` found the tenants with work by reading every ready job, then
sorted each tenant's ready jobs to take the oldest: with 9,000 jobs waiting a claim cost 10 ms
of the server's CPU, and a busy worker claims hundreds of times a second. Now the tenants come
from the small ``tenant`` table: the one with the fewest jobs in progress first (so a flooding
tenant cannot take every slot that frees up), then the one whose oldest due job has waited
longest; each tenant's due jobs (ready, or running under an expired lease because their worker
died) are read in ``run_at`` order from one index, which holds only queued and running jobs.

Jobs a worker enqueues while running a job (a reply, a name lookup) no longer look for waiting
jobs nor notify: that worker claims again as soon as its job ends. The look scanned the queue's
oldest index entries, which during a drain are the dead ones of jobs just done, so it grew
with the work done until vacuum. A worker marks its transactions with ``motcua.wake_workers``.

Every job is inserted, claimed and deleted, so the job table's indexes fill with dead entries
that each claim walks past until vacuum removes them: a drain of 11,000 jobs slowed from about
1,500 to 700 jobs/s and tripled the server's CPU. Autovacuum now takes the table after 1,000
dead rows, without pausing (with ``autovacuum_naptime`` at 2 s, as the embedded server has,
the same drain holds 1,300-2,000 jobs/s).

Revision ID: 0008_fast_claim
Revises: 0007_one_head
"""

import importlib.util
from pathlib import Path

from motcua.db.ddl import run_script

revision = "0008_fast_claim"
down_revision = "0007_one_head"

CLAIM = """
CREATE OR REPLACE FUNCTION motcua_claim_jobs(n integer, per_tenant integer, lease interval, for_tenants text[] DEFAULT NULL)
RETURNS SETOF job LANGUAGE sql SECURITY DEFINER SET search_path = public AS $$
  WITH busy AS (
    SELECT tenant_id, count(*) AS running FROM job WHERE status = 'running' AND locked_until >= now() GROUP BY tenant_id
  ), waiting AS (  -- fair: the tenant with the fewest jobs in progress first, then the longest wait
    SELECT t.id AS tenant_id FROM tenant t
    LEFT JOIN busy b ON b.tenant_id = t.id
    CROSS JOIN LATERAL (
      SELECT run_at AS since FROM job
      WHERE job.tenant_id = t.id AND status IN ('queued', 'running') AND run_at <= now()
        AND (status = 'queued' OR locked_until < now())
      ORDER BY run_at LIMIT 1) q
    WHERE for_tenants IS NULL OR t.id = ANY(for_tenants)
    ORDER BY coalesce(b.running, 0), q.since
  ), picked AS (  -- each tenant's oldest due jobs: ready ones, and those whose worker died (lease expired)
    SELECT j.tenant_id, j.id FROM waiting w CROSS JOIN LATERAL (
      SELECT tenant_id, id FROM job
      WHERE tenant_id = w.tenant_id AND status IN ('queued', 'running') AND run_at <= now()
        AND (status = 'queued' OR locked_until < now())
      ORDER BY run_at, id LIMIT per_tenant FOR UPDATE SKIP LOCKED
    ) j LIMIT n
  )
  UPDATE job SET status = 'running', attempts = job.attempts + 1, locked_until = now() + lease
  FROM picked WHERE job.tenant_id = picked.tenant_id AND job.id = picked.id
  RETURNING job.*
$$;
"""


NOTIFY = """
CREATE OR REPLACE FUNCTION motcua_notify_jobs() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public AS $$
BEGIN
  IF current_setting('motcua.wake_workers', true) IS DISTINCT FROM 'off'
     AND NOT EXISTS (SELECT 1 FROM job WHERE tenant_id = motcua_tenant() AND status = 'queued'
                     AND run_at <= now() - interval '200 milliseconds') THEN
    PERFORM pg_notify('motcua_jobs', '');
  END IF;
  RETURN NULL;
END $$;
"""


def upgrade() -> None:
    run_script("""
    DROP INDEX job_ready;
    CREATE INDEX job_ready ON job (tenant_id, run_at, id) WHERE status IN ('queued', 'running');
    ALTER TABLE job SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000,
                         autovacuum_vacuum_cost_delay = 0);
    """ + CLAIM + NOTIFY)


def downgrade() -> None:
    # 0001's queue functions as they were (its script, re-run with CREATE OR REPLACE).
    spec = importlib.util.spec_from_file_location("core_0001", Path(__file__).with_name("0001_core.py"))
    core = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(core)
    run_script("""
    ALTER TABLE job RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, autovacuum_vacuum_cost_delay);
    DROP INDEX job_ready;
    CREATE INDEX job_ready ON job (tenant_id, run_at) WHERE status = 'queued';
    """ + core.QUEUE.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")
                    .replace("CREATE TRIGGER", "CREATE OR REPLACE TRIGGER"))
