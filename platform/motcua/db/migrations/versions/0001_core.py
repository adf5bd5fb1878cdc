"""Core schema: tenants, agencies, procedures, dossiers and timeline, citizens, conversations,
feedback, evaluations, notifications, webhook inbox, audit log, secrets, job queue.

Every tenant-owned table has ``tenant_id`` first in its primary key and in each foreign key,
and is protected by ``motcua_protect``: RLS enabled and forced, policy ``tenant_isolation``.

Revision ID: 0001
Revises:
"""

from alembic import op

from motcua.db.ddl import app_role as configured_app_role, run_script

revision = "0001"
down_revision = None

FUNCTIONS = """
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS unaccent;

-- The tenant bound to the current transaction, or NULL (then tenant-owned tables show nothing).
CREATE FUNCTION motcua_tenant() RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS
$$ SELECT nullif(current_setting('motcua.tenant_id', true), '') $$;

-- The one way a table becomes tenant-owned: RLS enabled and forced, one policy.
CREATE FUNCTION motcua_protect(tbl regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
  EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
  EXECUTE format('CREATE POLICY tenant_isolation ON %s USING (tenant_id = motcua_tenant()) '
                 'WITH CHECK (tenant_id = motcua_tenant())', tbl);
END $$;

-- Accent-insensitive search key: 'Khai sinh' and 'khai sinh' and 'KHAI SINH' alike; đ -> d.
CREATE FUNCTION motcua_fold(t text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT lower(translate(public.unaccent('public.unaccent'::regdictionary, coalesce(t, '')), 'đĐ', 'dD')) $$;
"""

TABLES = """
-- Platform table: one row per province, written by `motcua tenants apply` (owner), read by all.
CREATE TABLE tenant (
  id            text PRIMARY KEY CHECK (id ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
  name          text NOT NULL,
  stat_code     text NOT NULL,
  agency_code   text NOT NULL,
  oa_id         text UNIQUE,
  hosts         text[] NOT NULL DEFAULT '{}',
  code_prefixes text[] NOT NULL DEFAULT '{}',  -- H-codes, current and pre-merger, for routing codes
  config        jsonb NOT NULL,
  config_hash   text NOT NULL,
  active        boolean NOT NULL DEFAULT true,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE agency (
  tenant_id  text NOT NULL REFERENCES tenant(id),
  code       text NOT NULL,
  name       text NOT NULL,
  kind       text NOT NULL DEFAULT 'department',
  ward_code  text,
  active     boolean NOT NULL DEFAULT true,
  PRIMARY KEY (tenant_id, code)
);

CREATE TABLE procedure (
  tenant_id        text NOT NULL REFERENCES tenant(id),
  code             text NOT NULL,
  name             text NOT NULL,
  search_key       text NOT NULL,  -- motcua_fold(name || sector): trigram-indexed
  sector           text,
  agency_code      text,
  online           boolean NOT NULL DEFAULT false,
  processing_days  numeric,
  fee              text,
  data             jsonb NOT NULL DEFAULT '{}',  -- papers, form fields, level
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, code)
);
CREATE INDEX procedure_search ON procedure USING gin (search_key gin_trgm_ops);

CREATE TABLE dossier (
  tenant_id        text NOT NULL REFERENCES tenant(id),
  id               bigint GENERATED ALWAYS AS IDENTITY,
  code             text NOT NULL,
  code_key         text NOT NULL,  -- normalised: upper case, no separators
  status           text NOT NULL,
  raw_status       text NOT NULL,
  raw_label        text,
  procedure_code   text,
  procedure_name   text,
  agency_code      text,
  agency_name      text,
  handler          text,
  applicant_name   text,
  applicant_key    text,  -- keyed hash of phone / ID number, for "my dossiers"; never the value
  submitted_at     timestamptz,
  received_at      timestamptz,
  due_at           timestamptz,
  finished_at      timestamptz,
  returned_at      timestamptz,
  online           boolean NOT NULL DEFAULT false,
  missing_papers   jsonb NOT NULL DEFAULT '[]',
  note             text,
  source_updated_at timestamptz,
  synced_at        timestamptz NOT NULL DEFAULT now(),
  created_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, code_key)
);
CREATE INDEX dossier_applicant ON dossier (tenant_id, applicant_key) WHERE applicant_key IS NOT NULL;
CREATE INDEX dossier_open_due ON dossier (tenant_id, due_at) WHERE finished_at IS NULL;

-- Other codes of the same dossier: pre-merger codes, provider-internal ids.
CREATE TABLE dossier_alias (
  tenant_id  text NOT NULL,
  code_key   text NOT NULL,
  dossier_id bigint NOT NULL,
  PRIMARY KEY (tenant_id, code_key),
  FOREIGN KEY (tenant_id, dossier_id) REFERENCES dossier(tenant_id, id) ON DELETE CASCADE
);

-- The timeline: every change is an event; notifications and KPIs are computed from these.
CREATE TABLE dossier_event (
  tenant_id  text NOT NULL,
  id         bigint GENERATED ALWAYS AS IDENTITY,
  dossier_id bigint NOT NULL,
  kind       text NOT NULL,  -- created, status_changed, due_changed, unknown_status
  status     text,
  raw_status text,
  at         timestamptz NOT NULL,
  note       text,
  data       jsonb NOT NULL DEFAULT '{}',
  dedupe_key text NOT NULL,  -- what makes a replayed change a no-op
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, dedupe_key),
  FOREIGN KEY (tenant_id, dossier_id) REFERENCES dossier(tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX dossier_event_dossier ON dossier_event (tenant_id, dossier_id, at);

-- A Zalo user of one OA (IDs are strings: they overflow 64-bit integers in JavaScript).
CREATE TABLE citizen (
  tenant_id           text NOT NULL REFERENCES tenant(id),
  id                  bigint GENERATED ALWAYS AS IDENTITY,
  oa_id               text NOT NULL,
  zalo_user_id        text NOT NULL,
  display_name        text,
  phone_enc           bytea,   -- encrypted, shared with consent (user_submit_info)
  phone_key           text,    -- keyed hash of the phone, to find their dossiers
  address_enc         bytea,
  following           boolean NOT NULL DEFAULT false,
  followed_at         timestamptz,
  consent_at          timestamptz,
  last_interaction_at timestamptz,  -- opens the free reply window
  erased_at           timestamptz,
  created_at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, oa_id, zalo_user_id)
);

CREATE TABLE subscription (
  tenant_id   text NOT NULL,
  citizen_id  bigint NOT NULL,
  dossier_id  bigint NOT NULL,
  source      text NOT NULL DEFAULT 'lookup',  -- lookup, qr, submission
  created_at  timestamptz NOT NULL DEFAULT now(),
  stopped_at  timestamptz,
  PRIMARY KEY (tenant_id, citizen_id, dossier_id),
  FOREIGN KEY (tenant_id, citizen_id) REFERENCES citizen(tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, dossier_id) REFERENCES dossier(tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE conversation (
  tenant_id    text NOT NULL,
  id           bigint GENERATED ALWAYS AS IDENTITY,
  citizen_id   bigint NOT NULL,
  agency_code  text,
  assignee     text,
  status       text NOT NULL DEFAULT 'open',  -- open, waiting, closed
  topic        text,
  deadline_at  timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, citizen_id) REFERENCES citizen(tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE message (
  tenant_id       text NOT NULL,
  id              bigint GENERATED ALWAYS AS IDENTITY,
  citizen_id      bigint NOT NULL,
  conversation_id bigint,
  direction       text NOT NULL CHECK (direction IN ('in', 'out', 'note')),
  author          text,
  kind            text NOT NULL DEFAULT 'text',
  text            text,
  payload         jsonb NOT NULL DEFAULT '{}',
  zalo_msg_id     text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, citizen_id) REFERENCES citizen(tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversation(tenant_id, id) ON DELETE SET NULL (conversation_id)
);
CREATE INDEX message_citizen ON message (tenant_id, citizen_id, created_at);

-- Feedback and petitions (phản ánh, kiến nghị).
CREATE TABLE feedback (
  tenant_id    text NOT NULL REFERENCES tenant(id),
  id           bigint GENERATED ALWAYS AS IDENTITY,
  citizen_id   bigint,
  channel      text NOT NULL DEFAULT 'zalo',
  category     text NOT NULL,
  title        text NOT NULL,
  content      text NOT NULL,
  agency_code  text,
  status       text NOT NULL DEFAULT 'received',
  due_at       timestamptz,
  answer       text,
  answered_at  timestamptz,
  published    boolean NOT NULL DEFAULT false,
  data         jsonb NOT NULL DEFAULT '{}',
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, citizen_id) REFERENCES citizen(tenant_id, id) ON DELETE SET NULL (citizen_id)
);

-- A citizen's rating of one dossier (đánh giá mức độ hài lòng).
CREATE TABLE evaluation (
  tenant_id   text NOT NULL,
  id          bigint GENERATED ALWAYS AS IDENTITY,
  dossier_id  bigint NOT NULL,
  rater       text NOT NULL,  -- 'citizen:<id>' or 'receipt:<token hash>'
  overall     smallint NOT NULL CHECK (overall BETWEEN 1 AND 3),
  criteria    jsonb NOT NULL DEFAULT '{}',
  comment     text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  pushed_at   timestamptz,
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, dossier_id, rater),
  FOREIGN KEY (tenant_id, dossier_id) REFERENCES dossier(tenant_id, id) ON DELETE CASCADE
);

-- Every outbound message, with its delivery status.
CREATE TABLE notification (
  tenant_id     text NOT NULL,
  id            bigint GENERATED ALWAYS AS IDENTITY,
  citizen_id    bigint NOT NULL,
  dossier_id    bigint,
  kind          text NOT NULL,
  channel       text,  -- cs (consultation) or zns; chosen when sent
  status        text NOT NULL DEFAULT 'queued',  -- queued, sent, delivered, failed, skipped
  dedupe_key    text NOT NULL,
  body          jsonb NOT NULL,
  tracking_id   text,
  zalo_msg_id   text,
  error_code    integer,
  error_reason  text,
  attempts      integer NOT NULL DEFAULT 0,
  created_at    timestamptz NOT NULL DEFAULT now(),
  sent_at       timestamptz,
  delivered_at  timestamptz,
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, dedupe_key),
  FOREIGN KEY (tenant_id, citizen_id) REFERENCES citizen(tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, dossier_id) REFERENCES dossier(tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX notification_msg ON notification (tenant_id, zalo_msg_id) WHERE zalo_msg_id IS NOT NULL;

-- Inbound events (Zalo webhooks, one-stop pushes), stored once before they are acknowledged.
CREATE TABLE webhook_event (
  tenant_id     text NOT NULL REFERENCES tenant(id),
  id            bigint GENERATED ALWAYS AS IDENTITY,
  source        text NOT NULL,  -- zalo, onestop
  event_key     text NOT NULL,
  event_name    text NOT NULL,
  payload       jsonb NOT NULL,
  received_at   timestamptz NOT NULL DEFAULT now(),
  processed_at  timestamptz,
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, source, event_key)
);

CREATE TABLE audit_log (
  tenant_id  text NOT NULL REFERENCES tenant(id),
  id         bigint GENERATED ALWAYS AS IDENTITY,
  actor      text NOT NULL,
  action     text NOT NULL,
  entity     text NOT NULL,
  entity_id  text,
  before     jsonb,
  after      jsonb,
  at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);

-- Secrets (OA tokens, adapter credentials): AES-GCM under the master key, bound to tenant+purpose.
CREATE TABLE secret (
  tenant_id   text NOT NULL REFERENCES tenant(id),
  purpose     text NOT NULL,
  nonce       bytea NOT NULL,
  ciphertext  bytea NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, purpose)
);

-- Per-tenant sync state: durable cursor and health.
CREATE TABLE sync_state (
  tenant_id        text NOT NULL REFERENCES tenant(id),
  source           text NOT NULL DEFAULT 'primary',
  cursor           text,
  last_success_at  timestamptz,
  last_attempt_at  timestamptz,
  last_error       text,
  last_error_at    timestamptz,
  failures         integer NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, source)
);

-- Records an adapter could not map, kept with the reason.
CREATE TABLE quarantine (
  tenant_id  text NOT NULL REFERENCES tenant(id),
  id         bigint GENERATED ALWAYS AS IDENTITY,
  source     text NOT NULL,
  code       text,
  reason     text NOT NULL,
  raw        text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);

-- The job queue. Enqueued inside the transaction of the change that causes it; claimed across
-- tenants only through motcua_claim_jobs (SECURITY DEFINER); completed in the job's tenant transaction.
CREATE TABLE job (
  tenant_id     text NOT NULL REFERENCES tenant(id),
  id            bigint GENERATED ALWAYS AS IDENTITY,
  kind          text NOT NULL,
  payload       jsonb NOT NULL DEFAULT '{}',
  dedupe_key    text,
  status        text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'parked')),
  run_at        timestamptz NOT NULL DEFAULT now(),
  attempts      integer NOT NULL DEFAULT 0,
  max_attempts  integer NOT NULL DEFAULT 8,
  locked_until  timestamptz,
  last_error    text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX job_dedupe ON job (tenant_id, dedupe_key) WHERE dedupe_key IS NOT NULL AND status <> 'parked';
CREATE INDEX job_ready ON job (tenant_id, run_at) WHERE status = 'queued';
CREATE INDEX job_lease ON job (locked_until) WHERE status = 'running';

-- Periodic work per tenant (sync polls, token refresh, SLA sweeps): claimed atomically by any worker.
CREATE TABLE schedule (
  tenant_id    text NOT NULL REFERENCES tenant(id),
  kind         text NOT NULL,
  every        interval NOT NULL,
  next_run_at  timestamptz NOT NULL DEFAULT now(),
  payload      jsonb NOT NULL DEFAULT '{}',
  PRIMARY KEY (tenant_id, kind)
);
"""

PROTECTED = [
    "agency", "procedure", "dossier", "dossier_alias", "dossier_event", "citizen", "subscription",
    "conversation", "message", "feedback", "evaluation", "notification", "webhook_event",
    "audit_log", "secret", "sync_state", "quarantine", "job", "schedule",
]

QUEUE = """
-- NOTIFY takes a database-wide lock at commit and holds it through the WAL flush, so if
-- every enqueuing commit notified, all of them would queue behind one another. Wake the
-- workers only when they may be idle: when none of this tenant's ready jobs has been
-- waiting. Busy workers claim the next jobs as their running ones finish; an idle one also
-- polls every second.
CREATE FUNCTION motcua_notify_jobs() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM job WHERE tenant_id = motcua_tenant() AND status = 'queued'
                 AND run_at <= now() - interval '200 milliseconds') THEN
    PERFORM pg_notify('motcua_jobs', '');
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER job_notify AFTER INSERT ON job FOR EACH STATEMENT EXECUTE FUNCTION motcua_notify_jobs();

-- Claims up to n ready jobs, at most per_tenant from each tenant so one tenant's flood
-- cannot starve the others; expired leases (a worker died) are claimed again. ``for_tenants``
-- restricts a worker to some tenants (a dedicated worker for a large province; tests).
CREATE FUNCTION motcua_claim_jobs(n integer, per_tenant integer, lease interval, for_tenants text[] DEFAULT NULL)
RETURNS SETOF job LANGUAGE sql SECURITY DEFINER SET search_path = public AS $$
  WITH tenants AS (
    SELECT DISTINCT tenant_id FROM job
    WHERE ((status = 'queued' AND run_at <= now()) OR (status = 'running' AND locked_until < now()))
      AND (for_tenants IS NULL OR tenant_id = ANY(for_tenants))
  ), picked AS (
    SELECT j.tenant_id, j.id FROM tenants t CROSS JOIN LATERAL (
      SELECT tenant_id, id FROM job
      WHERE tenant_id = t.tenant_id
        AND ((status = 'queued' AND run_at <= now()) OR (status = 'running' AND locked_until < now()))
      ORDER BY run_at, id LIMIT per_tenant FOR UPDATE SKIP LOCKED
    ) j LIMIT n
  )
  UPDATE job SET status = 'running', attempts = job.attempts + 1, locked_until = now() + lease
  FROM picked WHERE job.tenant_id = picked.tenant_id AND job.id = picked.id
  RETURNING job.*
$$;

-- Due schedules across tenants, advanced atomically so one worker fires each.
CREATE FUNCTION motcua_claim_schedules() RETURNS SETOF schedule
LANGUAGE sql SECURITY DEFINER SET search_path = public AS $$
  UPDATE schedule SET next_run_at = now() + every
  WHERE (tenant_id, kind) IN (SELECT tenant_id, kind FROM schedule WHERE next_run_at <= now() FOR UPDATE SKIP LOCKED)
  RETURNING *
$$;

-- Queue depth per tenant and kind, for /metrics and the vendor's health page.
CREATE FUNCTION motcua_queue_depth() RETURNS TABLE (tenant_id text, kind text, status text, jobs bigint, oldest timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT tenant_id, kind, status, count(*), min(run_at) FROM job GROUP BY 1, 2, 3
$$;
"""


def upgrade() -> None:
    app_role = configured_app_role()
    run_script(FUNCTIONS)
    run_script(TABLES)
    for table in PROTECTED:
        op.execute(f"SELECT motcua_protect('{table}')")
    run_script(QUEUE)
    # The definer functions above run as the owner; FORCE RLS applies to a non-superuser owner
    # too, so give the owner (only) a policy that lets those functions see every tenant's queue.
    op.execute("DO $$ BEGIN EXECUTE format('CREATE POLICY queue_owner ON job TO %I USING (true)', current_user); "
               "EXECUTE format('CREATE POLICY queue_owner ON schedule TO %I USING (true)', current_user); END $$")
    role = '"' + app_role.replace('"', '""') + '"'
    op.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
    op.execute(f"GRANT SELECT ON tenant TO {role}")
    tables = ", ".join(PROTECTED)
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {tables} TO {role}")
    op.execute(f"REVOKE ALL ON FUNCTION motcua_claim_jobs(integer, integer, interval, text[]) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION motcua_claim_jobs(integer, integer, interval, text[]) TO {role}")
    op.execute(f"REVOKE ALL ON FUNCTION motcua_claim_schedules() FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION motcua_claim_schedules() TO {role}")
    # Tables added by later migrations are granted the same way.
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}")


def downgrade() -> None:
    raise NotImplementedError("the first revision is not downgraded; drop the database instead")
