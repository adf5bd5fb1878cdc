"""Dossier sync: the applicant's ID-number key beside the phone key, and quarantine stored once.

``dossier.applicant_key`` keeps the keyed hash of the applicant's phone (the same key as
``citizen.phone_key``, so "my dossiers" is one index lookup); the ID number (CCCD) gets its own
column so a citizen who gives only one of the two still finds their dossiers. Neither value is
ever stored in plain text.

A replayed change-feed page must change nothing, including the quarantine: the same record
with the same reason is kept once.

Revision ID: 0002_sync
Revises: 0001
"""

from alembic import op

from motcua.db.ddl import run_script

revision = "0002_sync"
down_revision = "0001"
branch_labels = None
depends_on = None

UP = """
ALTER TABLE dossier ADD COLUMN applicant_id_key text;  -- keyed hash of the ID number; never the value
CREATE INDEX dossier_applicant_id ON dossier (tenant_id, applicant_id_key) WHERE applicant_id_key IS NOT NULL;

CREATE UNIQUE INDEX quarantine_once ON quarantine (tenant_id, source, md5(coalesce(code, '') || E'\\n' || reason || E'\\n' || raw));

-- The admin console lists what no status table covers; the notifier reads a dossier's latest events.
CREATE INDEX dossier_unknown ON dossier (tenant_id, raw_status) WHERE status = 'unknown';
"""

DOWN = """
DROP INDEX IF EXISTS dossier_unknown;
DROP INDEX IF EXISTS quarantine_once;
DROP INDEX IF EXISTS dossier_applicant_id;
ALTER TABLE dossier DROP COLUMN IF EXISTS applicant_id_key;
"""


def upgrade(app_role: str = "motcua_app") -> None:
    run_script(UP)


def downgrade(app_role: str = "motcua_app") -> None:
    run_script(DOWN)
