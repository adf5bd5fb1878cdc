"""Zalo channel: OA connection state, OAuth PKCE state, the per-OA send rate limiter, send
attempts (to never send twice), and a few columns on core tables.

* ``oa_connection``: one row per tenant: connected / needs_reconnect, token expiries. The
  tokens themselves live encrypted in ``secret`` (purposes ``zalo.access_token``,
  ``zalo.refresh_token``); this row is also the lock that serialises refreshes.
* ``zalo_oauth_state``: the PKCE verifier of a pending consent, keyed by ``state``, sealed,
  single use (deleted when the callback arrives), valid ten minutes.
* ``zalo_rate``: a GCRA limiter (theoretical arrival time) per OA, taken atomically by
  ``motcua_zalo_take`` so every worker process shares it.
* ``zalo_send_attempt``: written and committed *before* each call to Zalo, outside the job's
  transaction, so a retry after a crash knows an earlier call may have been accepted.

Revision ID: 0003_zalo
Revises: 0001
"""

from alembic import op

from motcua.db.ddl import run_script

revision = "0003_zalo"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = """
CREATE TABLE oa_connection (
  tenant_id          text NOT NULL REFERENCES tenant(id),
  oa_id              text NOT NULL,
  status             text NOT NULL DEFAULT 'connected' CHECK (status IN ('connected', 'needs_reconnect')),
  access_expires_at  timestamptz,
  refresh_expires_at timestamptz,
  connected_at       timestamptz NOT NULL DEFAULT now(),
  refreshed_at       timestamptz,
  refresh_count      integer NOT NULL DEFAULT 0,
  last_error         text,
  updated_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id)
);

CREATE TABLE zalo_oauth_state (
  tenant_id    text NOT NULL REFERENCES tenant(id),
  state        text NOT NULL,
  verifier_enc bytea NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, state)
);

CREATE TABLE zalo_rate (
  tenant_id  text NOT NULL REFERENCES tenant(id),
  oa_id      text NOT NULL,
  tat        timestamptz NOT NULL DEFAULT clock_timestamp(),  -- theoretical arrival time (GCRA)
  PRIMARY KEY (tenant_id, oa_id)
);

CREATE TABLE zalo_send_attempt (
  tenant_id        text NOT NULL,
  notification_id  bigint NOT NULL,
  n                integer NOT NULL,
  channel          text NOT NULL,  -- cs, zns
  started_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
  outcome          text,  -- NULL = unknown (crash or timeout after sending), accepted, rejected
  error_code       integer,
  PRIMARY KEY (tenant_id, notification_id, n),
  FOREIGN KEY (tenant_id, notification_id) REFERENCES notification(tenant_id, id) ON DELETE CASCADE
);

ALTER TABLE citizen ADD COLUMN user_id_by_app text;
ALTER TABLE notification ADD COLUMN seen_at timestamptz;
CREATE INDEX notification_tracking ON notification (tenant_id, tracking_id) WHERE tracking_id IS NOT NULL;
ALTER TABLE webhook_event ADD COLUMN num_retry integer, ADD COLUMN zalo_server text;
-- The echo of a message we sent (oa_send_*) is how a retry detects an accepted CS send.
CREATE INDEX webhook_event_echo ON webhook_event (tenant_id, (payload #>> '{recipient,id}'), received_at)
  WHERE source = 'zalo' AND event_name LIKE 'oa\\_send\\_%';

-- Take one send slot for an OA: 0 when granted, else the seconds to wait. GCRA: each send
-- moves the arrival time on by 1/rate; up to `burst` sends may be ahead of the clock.
CREATE FUNCTION motcua_zalo_take(p_tenant text, p_oa text, p_rate double precision, p_burst integer)
RETURNS double precision LANGUAGE plpgsql AS $$
DECLARE
  step interval := make_interval(secs => 1.0 / p_rate);
  now_ timestamptz := clock_timestamp();
  cur timestamptz;
BEGIN
  INSERT INTO zalo_rate (tenant_id, oa_id, tat) VALUES (p_tenant, p_oa, now_)
    ON CONFLICT (tenant_id, oa_id) DO NOTHING;
  SELECT greatest(tat, now_) INTO cur FROM zalo_rate WHERE tenant_id = p_tenant AND oa_id = p_oa FOR UPDATE;
  IF cur + step - now_ > step * p_burst THEN
    RETURN extract(epoch FROM (cur + step - now_ - step * p_burst));
  END IF;
  UPDATE zalo_rate SET tat = cur + step WHERE tenant_id = p_tenant AND oa_id = p_oa;
  RETURN 0;
END $$;
"""

PROTECTED = ["oa_connection", "zalo_oauth_state", "zalo_rate", "zalo_send_attempt"]


def upgrade() -> None:
    run_script(TABLES)
    for table in PROTECTED:
        op.execute(f"SELECT motcua_protect('{table}')")


def downgrade() -> None:
    run_script("""
    DROP FUNCTION motcua_zalo_take(text, text, double precision, integer);
    DROP INDEX IF EXISTS webhook_event_echo, notification_tracking;
    ALTER TABLE webhook_event DROP COLUMN num_retry, DROP COLUMN zalo_server;
    ALTER TABLE notification DROP COLUMN seen_at;
    ALTER TABLE citizen DROP COLUMN user_id_by_app;
    DROP TABLE zalo_send_attempt, zalo_rate, zalo_oauth_state, oa_connection;
    """)
