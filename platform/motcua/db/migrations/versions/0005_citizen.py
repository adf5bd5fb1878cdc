"""Citizen services: appointment booking with queue numbers, Mini App image uploads and
per-user daily usage (search rate limit), the bot's short per-citizen state, and indexes the
notifier and the status page need.

News and FAQ live in the staff migration (0004: ``news``, ``faq``); ratings in the core
``evaluation`` table; subscriptions in the core ``subscription`` table.

Revision ID: 0005_citizen
Revises: 0001
"""

from alembic import op

from motcua.db.ddl import run_script

revision = "0005_citizen"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = """
-- One day's counter at one tenant's reception desk: numbers are handed out atomically.
CREATE TABLE appointment_day (
  tenant_id       text NOT NULL REFERENCES tenant(id),
  service_date    date NOT NULL,
  last_number     integer NOT NULL DEFAULT 0,
  current_number  integer NOT NULL DEFAULT 0,  -- the number being served now (set by the desk)
  PRIMARY KEY (tenant_id, service_date)
);

-- An appointment (lịch hẹn) booked from the Mini App: one per Zalo user per day.
CREATE TABLE appointment (
  tenant_id      text NOT NULL,
  id             bigint GENERATED ALWAYS AS IDENTITY,
  service_date   date NOT NULL,
  number         integer NOT NULL,
  zalo_id        text NOT NULL,   -- the Mini App user's id (app-scoped), a string
  full_name      text NOT NULL,
  phone_enc      bytea NOT NULL,  -- personal data: sealed with the tenant's key
  content        text NOT NULL,
  status         text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
  rejected_info  text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, service_date, number),
  UNIQUE (tenant_id, service_date, zalo_id),
  FOREIGN KEY (tenant_id, service_date) REFERENCES appointment_day(tenant_id, service_date)
);
CREATE INDEX appointment_user ON appointment (tenant_id, zalo_id, service_date DESC);

-- Images uploaded from the Mini App (feedback photos): small, checked by content, served by name.
CREATE TABLE miniapp_upload (
  tenant_id     text NOT NULL REFERENCES tenant(id),
  name          text NOT NULL,   -- random, unguessable
  content_type  text NOT NULL,
  data          bytea NOT NULL,
  zalo_id       text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, name)
);

-- Per-user daily counters (dossier searches), so one user cannot enumerate codes.
CREATE TABLE miniapp_usage (
  tenant_id  text NOT NULL REFERENCES tenant(id),
  zalo_id    text NOT NULL,
  day        date NOT NULL,
  action     text NOT NULL,
  count      integer NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, zalo_id, day, action)
);

-- What the bot last asked a citizen (e.g. "which dossier code?"), so a short answer is understood.
CREATE TABLE chat_state (
  tenant_id   text NOT NULL,
  citizen_id  bigint NOT NULL,
  state       text NOT NULL,
  data        jsonb NOT NULL DEFAULT '{}',
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, citizen_id),
  FOREIGN KEY (tenant_id, citizen_id) REFERENCES citizen(tenant_id, id) ON DELETE CASCADE
);

-- The notifier finds a dossier's subscribers on every timeline event.
CREATE INDEX subscription_dossier ON subscription (tenant_id, dossier_id) WHERE stopped_at IS NULL;
"""

PROTECTED = ["appointment_day", "appointment", "miniapp_upload", "miniapp_usage", "chat_state"]


def upgrade(app_role: str = "motcua_app") -> None:  # tables are granted by default privileges
    run_script(TABLES)
    for table in PROTECTED:
        op.execute(f"SELECT motcua_protect('{table}')")


def downgrade(app_role: str = "motcua_app") -> None:
    run_script("""
DROP INDEX IF EXISTS subscription_dossier;
DROP TABLE IF EXISTS chat_state, miniapp_usage, miniapp_upload, appointment, appointment_day;
""")
