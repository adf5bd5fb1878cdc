"""Database access: the embedded server, the one door to tenant-scoped connections, migrations.

Only this package opens connections. ``Database.tenant(slug)`` is the door: it binds the tenant
to the transaction (transaction-local), and row-level security with FORCE does the rest.
"""

from motcua.db.database import Database, TenantConnection, connect

__all__ = ["Database", "TenantConnection", "connect"]
