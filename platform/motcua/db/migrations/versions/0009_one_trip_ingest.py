"""A webhook event stored and its job enqueued in one round trip.

``Database.tenant()`` costs three round trips (BEGIN with the tenant, the statement, COMMIT);
the bare-insert baseline costs one. ``motcua_bind`` binds the tenant inside a statement that runs
as its own transaction, so a SQL function can do a hot write in one: ``Database.call``.
``motcua_bind`` refuses to rebind a transaction already bound to another tenant; it is the one
way a transaction is bound (``Database.tenant``, ``bind_tenant`` and the ORM session use it too).

Revision ID: 0009_one_trip_ingest
Revises: 0008_fast_claim
"""

from motcua.db.ddl import run_script

revision = "0009_one_trip_ingest"
down_revision = "0008_fast_claim"


def upgrade() -> None:
    run_script("""
CREATE FUNCTION motcua_bind(p_tenant text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF coalesce(current_setting('motcua.tenant_id', true), '') NOT IN ('', p_tenant) THEN
    RAISE EXCEPTION 'this transaction is bound to another tenant';
  END IF;
  PERFORM set_config('motcua.tenant_id', p_tenant, true);
END $$;

-- Zalo's webhook: the event stored once, and its job (zalo.message for a citizen's message,
-- zalo.event for any other) enqueued with it. Returns the job's id, NULL for a duplicate.
CREATE FUNCTION motcua_zalo_ingest(p_tenant text, p_key text, p_name text, p_payload text, p_retry integer,
                                   p_server text, p_trace text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  job_id bigint;
BEGIN
  PERFORM motcua_bind(p_tenant);
  WITH ev AS (
    INSERT INTO webhook_event (tenant_id, source, event_key, event_name, payload, num_retry, zalo_server)
    VALUES (p_tenant, 'zalo', p_key, p_name, p_payload::jsonb, p_retry, p_server)
    ON CONFLICT (tenant_id, source, event_key) DO NOTHING RETURNING id)
  INSERT INTO job (tenant_id, kind, payload)
  SELECT p_tenant, CASE WHEN starts_with(p_name, 'user_send_') THEN 'zalo.message' ELSE 'zalo.event' END,
         jsonb_strip_nulls(jsonb_build_object('event_id', id, '_trace', p_trace)) FROM ev
  RETURNING id INTO job_id;
  RETURN job_id;
END $$;
""")


def downgrade() -> None:
    run_script("""
DROP FUNCTION motcua_zalo_ingest(text, text, text, text, integer, text, text);
DROP FUNCTION motcua_bind(text);
""")
