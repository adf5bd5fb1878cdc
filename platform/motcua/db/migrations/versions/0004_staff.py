"""Staff side: accounts and sessions, sign-in throttling, FAQ, news, broadcasts, citizen tags,
runtime-editable tenant settings, and a few columns the inbox and feedback desk need.

Platform tables (no tenant, no RLS): ``operator`` (vendor operators, who see every tenant),
``staff_session`` (a session is found by the hash of its cookie before any tenant is known;
it holds no tenant data) and ``staff_signin_attempt`` (throttling shared by every process).
Everything else is tenant-owned and protected by ``motcua_protect``.

Revision ID: 0004_staff
Revises: 0001
"""

from alembic import op

from motcua.db.ddl import run_script

revision = "0004_staff"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = """
CREATE TABLE operator (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email          text NOT NULL UNIQUE CHECK (email = lower(email)),
  name           text NOT NULL,
  password_hash  text,           -- argon2id; NULL = sign in with OpenID Connect only
  active         boolean NOT NULL DEFAULT true,
  created_at     timestamptz NOT NULL DEFAULT now()
);

-- A tenant's staff: admin (province admin), officer (scoped to agencies), viewer (read only).
CREATE TABLE staff_user (
  tenant_id      text NOT NULL REFERENCES tenant(id),
  id             bigint GENERATED ALWAYS AS IDENTITY,
  email          text NOT NULL CHECK (email = lower(email)),
  name           text NOT NULL,
  role           text NOT NULL CHECK (role IN ('admin', 'officer', 'viewer')),
  agencies       text[] NOT NULL DEFAULT '{}',
  specialist     boolean NOT NULL DEFAULT false,  -- may receive escalated questions
  password_hash  text,
  active         boolean NOT NULL DEFAULT true,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, email)
);

CREATE TABLE staff_session (
  token_hash    text PRIMARY KEY,  -- sha256 of the cookie value; the value itself is never stored
  tenant_id     text REFERENCES tenant(id),  -- NULL for vendor operators
  user_id       bigint,
  operator_id   bigint REFERENCES operator(id) ON DELETE CASCADE,
  csrf          text NOT NULL,
  method        text NOT NULL DEFAULT 'password',  -- password, oidc
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_seen_at  timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL,
  CHECK ((tenant_id IS NULL) = (operator_id IS NOT NULL))
);
CREATE INDEX staff_session_expiry ON staff_session (expires_at);

-- Failed sign-ins per key (account, address) in a sliding window.
CREATE TABLE staff_signin_attempt (
  key           text PRIMARY KEY,
  failures      integer NOT NULL DEFAULT 0,
  window_start  timestamptz NOT NULL DEFAULT now(),
  locked_until  timestamptz
);

CREATE TABLE faq (
  tenant_id   text NOT NULL REFERENCES tenant(id),
  id          bigint GENERATED ALWAYS AS IDENTITY,
  question    text NOT NULL,
  answer      text NOT NULL,
  topic       text,
  search_key  text NOT NULL DEFAULT '',  -- motcua_fold(question || topic), trigram-indexed
  published   boolean NOT NULL DEFAULT true,
  position    integer NOT NULL DEFAULT 0,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX faq_search ON faq USING gin (search_key gin_trgm_ops);

CREATE TABLE news (
  tenant_id     text NOT NULL REFERENCES tenant(id),
  id            bigint GENERATED ALWAYS AS IDENTITY,
  title         text NOT NULL,
  summary       text NOT NULL DEFAULT '',
  body          text NOT NULL DEFAULT '',
  link          text,
  image_url     text,
  published_at  timestamptz,  -- NULL = draft
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX news_published ON news (tenant_id, published_at DESC) WHERE published_at IS NOT NULL;

-- Tags an admin puts on followers, to target broadcasts.
CREATE TABLE citizen_tag (
  tenant_id   text NOT NULL,
  tag         text NOT NULL,
  citizen_id  bigint NOT NULL,
  PRIMARY KEY (tenant_id, tag, citizen_id),
  FOREIGN KEY (tenant_id, citizen_id) REFERENCES citizen(tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE broadcast (
  tenant_id     text NOT NULL REFERENCES tenant(id),
  id            bigint GENERATED ALWAYS AS IDENTITY,
  title         text NOT NULL,
  text          text NOT NULL,
  tags          text[] NOT NULL DEFAULT '{}',  -- empty = every follower
  status        text NOT NULL DEFAULT 'scheduled'
                CHECK (status IN ('scheduled', 'running', 'done', 'cancelled')),
  scheduled_at  timestamptz NOT NULL DEFAULT now(),
  cursor        bigint NOT NULL DEFAULT 0,   -- last citizen id enqueued: batches resume here
  total         integer,                     -- recipients counted when sending starts
  enqueued      integer NOT NULL DEFAULT 0,
  created_by    text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  started_at    timestamptz,
  finished_at   timestamptz,
  PRIMARY KEY (tenant_id, id)
);

-- The few settings an admin may change at run time; the rest lives in the tenant file.
CREATE TABLE tenant_setting (
  tenant_id   text NOT NULL REFERENCES tenant(id),
  key         text NOT NULL,
  value       jsonb NOT NULL,
  updated_by  text NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, key)
);

ALTER TABLE conversation
  ADD COLUMN escalated_at     timestamptz,
  ADD COLUMN first_answer_at  timestamptz,
  ADD COLUMN closed_at        timestamptz;
CREATE INDEX conversation_queue ON conversation (tenant_id, status, agency_code, deadline_at);

ALTER TABLE feedback
  ADD COLUMN assignee      text,
  ADD COLUMN public_text   text,          -- what the public page shows: no personal data
  ADD COLUMN published_at  timestamptz,
  ADD COLUMN closed_at     timestamptz;
CREATE INDEX feedback_queue ON feedback (tenant_id, status, agency_code, due_at);
CREATE INDEX feedback_public ON feedback (tenant_id, published_at DESC) WHERE published;

-- Broadcast progress counts its notifications by the id inside their dedupe key.
CREATE INDEX notification_broadcast ON notification (tenant_id, (split_part(dedupe_key, ':', 2)), status)
  WHERE dedupe_key LIKE 'broadcast:%';
CREATE INDEX audit_log_at ON audit_log (tenant_id, at DESC);
CREATE INDEX message_conversation ON message (tenant_id, conversation_id, created_at) WHERE conversation_id IS NOT NULL;
"""

PROTECTED = ["staff_user", "faq", "news", "citizen_tag", "broadcast", "tenant_setting"]


def upgrade() -> None:
    run_script(TABLES)
    for table in PROTECTED:
        op.execute(f"SELECT motcua_protect('{table}')")


def downgrade() -> None:
    run_script("""
    DROP INDEX IF EXISTS message_conversation, audit_log_at, notification_broadcast, feedback_public,
      feedback_queue, conversation_queue;
    ALTER TABLE feedback DROP COLUMN assignee, DROP COLUMN public_text, DROP COLUMN published_at,
      DROP COLUMN closed_at;
    ALTER TABLE conversation DROP COLUMN escalated_at, DROP COLUMN first_answer_at, DROP COLUMN closed_at;
    DROP TABLE tenant_setting, broadcast, citizen_tag, news, faq, staff_signin_attempt, staff_session,
      staff_user, operator;
    """)
