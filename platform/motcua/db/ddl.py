"""Helpers for migrations: run a multi-statement SQL script through asyncpg's simple protocol."""

from alembic import op
from sqlalchemy.util import await_only


def run_script(sql: str) -> None:
    """``op.execute`` prepares its statement, which forbids several commands; DDL scripts
    with functions are clearer written whole, so send them as one simple query."""
    driver = op.get_bind().connection.driver_connection
    await_only(driver.execute(sql))


def app_role() -> str:
    """The application role migrations grant to (``alembic_config`` sets it)."""
    return op.get_context().config.attributes.get("app_role", "motcua_app")
