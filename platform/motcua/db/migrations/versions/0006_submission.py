"""Online submission: drafts and submissions, the photos of papers attached to them, and postal
requests for the result.

Personal data (the form's fields, the postal receiver, phone and street) is sealed with the
tenant's key (``crypto.seal``); only codes and statuses stay in clear for queries.

Revision ID: 0006_submission
Revises: 0001
"""

from alembic import op

from motcua.db.ddl import run_script

revision = "0006_submission"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = """
-- One online submission (nộp hồ sơ trực tuyến): a draft the citizen fills in, then queued for the
-- one-stop system, 'waiting' while that system is down, and 'submitted' once it gave a receipt.
CREATE TABLE submission (
  tenant_id        text NOT NULL REFERENCES tenant(id),
  id               bigint GENERATED ALWAYS AS IDENTITY,
  citizen_id       bigint NOT NULL,
  procedure_code   text NOT NULL,
  procedure_name   text,
  status           text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'queued', 'waiting', 'submitted')),
  fields_enc       bytea,             -- crypto.seal(json of the form's values): names, phone, ID number
  idempotency_key  text NOT NULL,     -- handed to the one-stop system so a retried submit is one dossier
  attempts         integer NOT NULL DEFAULT 0,
  last_error       text,
  dossier_id       bigint,
  dossier_code     text,
  due_at           timestamptz,
  queued_at        timestamptz,
  waiting_since    timestamptz,
  submitted_at     timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, idempotency_key),
  FOREIGN KEY (tenant_id, citizen_id) REFERENCES citizen(tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, dossier_id) REFERENCES dossier(tenant_id, id) ON DELETE SET NULL (dossier_id)
);
-- At most one unsent submission per citizen and procedure: reopening the form resumes it.
CREATE UNIQUE INDEX submission_open ON submission (tenant_id, citizen_id, procedure_code) WHERE status <> 'submitted';
CREATE INDEX submission_dossier ON submission (tenant_id, dossier_id) WHERE dossier_id IS NOT NULL;

-- A checked, cleaned photo of one paper (thành phần hồ sơ); the bytes live in the file storage
-- under a generated key, never under a public path.
CREATE TABLE submission_file (
  tenant_id      text NOT NULL,
  id             bigint GENERATED ALWAYS AS IDENTITY,
  submission_id  bigint NOT NULL,
  paper_code     text NOT NULL,
  storage_key    text NOT NULL,
  content_type   text NOT NULL,
  size           integer NOT NULL,
  width          integer NOT NULL,
  height         integer NOT NULL,
  sha256         text NOT NULL,     -- of the cleaned bytes: the same photo attached twice is one
  source         text NOT NULL CHECK (source IN ('upload', 'chat')),
  source_ref     text,              -- the chat message id for photos sent in the chat
  created_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, submission_id, paper_code, sha256),
  FOREIGN KEY (tenant_id, submission_id) REFERENCES submission(tenant_id, id) ON DELETE CASCADE
);

-- Return of the result by post (trả kết quả qua bưu chính): one per dossier.
CREATE TABLE postal_request (
  tenant_id      text NOT NULL,
  id             bigint GENERATED ALWAYS AS IDENTITY,
  dossier_id     bigint NOT NULL,
  citizen_id     bigint,
  receiver_enc   bytea NOT NULL,    -- crypto.seal(json {name, phone, street})
  province_code  text NOT NULL,     -- 2025 NSO codes (two-level administrative units)
  ward_code      text NOT NULL,
  ward_name      text NOT NULL,
  fee            integer NOT NULL,  -- VND, as shown to the citizen before they confirmed
  status         text NOT NULL DEFAULT 'requested' CHECK (status IN ('requested', 'registered', 'recorded')),
  reference      text,              -- the one-stop system's (or the postal service's) reference
  last_error     text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, dossier_id),
  FOREIGN KEY (tenant_id, dossier_id) REFERENCES dossier(tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, citizen_id) REFERENCES citizen(tenant_id, id) ON DELETE SET NULL (citizen_id)
);
"""

PROTECTED = ["submission", "submission_file", "postal_request"]


def upgrade() -> None:
    run_script(TABLES)
    for table in PROTECTED:
        op.execute(f"SELECT motcua_protect('{table}')")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS postal_request, submission_file, submission")
