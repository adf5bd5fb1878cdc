"""Join the parts' parallel revisions into one head, so the next migration has one parent.

Revision ID: 0007_one_head
Revises: 0002_sync, 0003_zalo, 0004_staff, 0005_citizen, 0006_submission
"""

revision = "0007_one_head"
down_revision = ("0002_sync", "0003_zalo", "0004_staff", "0005_citizen", "0006_submission")


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
