"""The migration history has one head, so a new migration has exactly one parent."""

from alembic.script import ScriptDirectory

from motcua.db.migrate import alembic_config


def test_one_head():
    script = ScriptDirectory.from_config(alembic_config("postgresql://unused/db", "motcua_app"))
    assert len(script.get_heads()) == 1, f"merge these heads into one: {script.get_heads()}"
