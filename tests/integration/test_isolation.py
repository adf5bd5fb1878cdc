"""Tenant isolation is enforced by PostgreSQL, not by our Python: these tests try to cross it
as the application role and must be stopped by row-level security."""

from __future__ import annotations

import asyncpg
import pytest

from motcua.db.database import Database, connect
from motcua.tenancy.apply import apply_tenant
from motcua.tenancy.schema import AdapterConfig, Tenant, TenantFile

A, B = "rls-a", "rls-b"


def _tenant(slug: str, h: str) -> Tenant:
    return Tenant(slug=slug, file=TenantFile(name=f"Tỉnh {slug}", stat_code="96", agency_code=h,
                                             adapter=AdapterConfig(family="none")))


@pytest.fixture(scope="module")
async def two_tenants(database, crypto):
    conn = await connect(database.owner_url)
    try:
        for slug, h in ((A, "X01"), (B, "X02")):
            await apply_tenant(conn, crypto, _tenant(slug, h), environ={})
    finally:
        await conn.close()
    db = await Database.open(database.app_url, max_size=2)
    async with db.tenant(A) as c:
        await c.execute("DELETE FROM job WHERE tenant_id = $1", A)
        await c.execute("INSERT INTO dossier (tenant_id, code, code_key, status, raw_status) VALUES ($1, 'A-1', 'A1', 'received', '2')", A)
    async with db.tenant(B) as c:
        await c.execute("DELETE FROM job WHERE tenant_id = $1", B)
        await c.execute("INSERT INTO dossier (tenant_id, code, code_key, status, raw_status) VALUES ($1, 'B-1', 'B1', 'received', '2')", B)
    yield db
    async with db.tenant(A) as c:
        await c.execute("DELETE FROM dossier")
    async with db.tenant(B) as c:
        await c.execute("DELETE FROM dossier")
    await db.close()


async def test_app_role_is_neither_owner_nor_superuser_nor_bypassrls(two_tenants):
    async with two_tenants.system() as c:
        me = await c.fetchrow("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        owns = await c.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user")
    assert (me["rolsuper"], me["rolbypassrls"], owns) == (False, False, 0)


async def test_a_tenant_reads_only_its_own_rows(two_tenants):
    async with two_tenants.tenant(A) as c:
        assert [r["code"] for r in await c.fetch("SELECT code FROM dossier")] == ["A-1"]
        # Naming the other tenant explicitly does not help.
        assert await c.fetch("SELECT code FROM dossier WHERE tenant_id = $1", B) == []


async def test_a_tenant_cannot_write_into_another(two_tenants):
    async with two_tenants.tenant(A) as c:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await c.execute("INSERT INTO dossier (tenant_id, code, code_key, status, raw_status) "
                            "VALUES ($1, 'X', 'X', 'received', '2')", B)
    async with two_tenants.tenant(A) as c:
        updated = await c.execute("UPDATE dossier SET status = 'returned' WHERE tenant_id = $1", B)
        deleted = await c.execute("DELETE FROM dossier WHERE tenant_id = $1", B)
        assert (updated, deleted) == ("UPDATE 0", "DELETE 0")
    async with two_tenants.tenant(A) as c:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):  # nor move its own row across
            await c.execute("UPDATE dossier SET tenant_id = $1", B)
    async with two_tenants.tenant(B) as c:
        assert await c.fetchval("SELECT status FROM dossier WHERE code = 'B-1'") == "received"


async def test_without_a_tenant_nothing_is_visible_or_writable(two_tenants):
    async with two_tenants.system() as c:
        assert await c.fetchval("SELECT count(*) FROM dossier") == 0
        assert await c.fetchval("SELECT count(*) FROM agency") == 0
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await c.execute("INSERT INTO dossier (tenant_id, code, code_key, status, raw_status) "
                            "VALUES ($1, 'Y', 'Y', 'received', '2')", A)


async def test_the_tenant_does_not_outlive_its_transaction_on_a_reused_connection(database, two_tenants):
    db = await Database.open(database.app_url, min_size=1, max_size=1)  # one connection, reused
    try:
        async with db.tenant(A) as c:
            pid = await c.fetchval("SELECT pg_backend_pid()")
            assert await c.fetchval("SELECT count(*) FROM dossier") == 1
        async with db.system() as c:
            assert await c.fetchval("SELECT pg_backend_pid()") == pid
            assert await c.fetchval("SELECT count(*) FROM dossier") == 0
            assert await c.fetchval("SELECT current_setting('motcua.tenant_id', true)") in (None, "")
        async with db.tenant(B) as c:
            assert [r["code"] for r in await c.fetch("SELECT code FROM dossier")] == ["B-1"]
        # A failed transaction does not leak its tenant either.
        with pytest.raises(RuntimeError):
            async with db.tenant(A) as c:
                raise RuntimeError("boom")
        async with db.system() as c:
            assert await c.fetchval("SELECT count(*) FROM dossier") == 0
    finally:
        await db.close()


async def test_a_one_statement_write_binds_its_tenant_only_for_itself(database, two_tenants):
    """``Database.call``: the SQL function binds the tenant for its own statement; the pooled
    connection is clean afterwards, and a transaction bound to one tenant cannot be rebound."""
    db = await Database.open(database.app_url, min_size=1, max_size=1)  # one connection, reused
    try:
        job = await db.call("motcua_zalo_ingest", B, "user_send_text:isolation-1", "user_send_text", "{}", None, None, None)
        assert job is not None
        async with db.system() as c:
            assert await c.fetchval("SELECT current_setting('motcua.tenant_id', true)") in (None, "")
        async with db.tenant(B) as c:
            assert await c.fetchval("SELECT kind FROM job WHERE id = $1", job) == "zalo.message"
            await c.execute("DELETE FROM job WHERE id = $1", job)
        async with db.tenant(A) as c:
            assert await c.fetchval("SELECT count(*) FROM webhook_event WHERE event_key = 'user_send_text:isolation-1'") == 0
        with pytest.raises(asyncpg.RaiseError, match="bound to another tenant"):
            async with db.tenant(A) as c:
                await c.fetchval("SELECT motcua_zalo_ingest($1, 'k', 'follow', '{}', NULL, NULL, NULL)", B)
    finally:
        await db.close()


async def test_a_session_level_setting_is_not_a_way_around(two_tenants):
    """Setting the tenant outside our door still scopes to exactly that tenant; it never shows two."""
    async with two_tenants.pool.acquire() as c:
        await c.execute("SELECT set_config('motcua.tenant_id', $1, false)", A)
        codes = [r["code"] for r in await c.fetch("SELECT code FROM dossier")]
        await c.execute("RESET motcua.tenant_id")
    assert codes == ["A-1"]


# Platform tables that carry a tenant column but are not tenant data, each with its reason.
PLATFORM_TABLES = {
    "staff_session": "found by the hash of its cookie before any tenant is known; holds no tenant data",
}


async def test_every_table_with_tenant_id_has_rls_forced_and_a_policy(owner_conn):
    rows = await owner_conn.fetch("""
        SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
               EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'tenant_isolation') AS policy,
               (SELECT array_agg(a.attname ORDER BY k.ord) FROM unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
                  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum) AS pkey
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute t ON t.attrelid = c.oid AND t.attname = 'tenant_id'
        LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
        WHERE n.nspname = 'public' AND c.relkind = 'r'""")
    rows = [r for r in rows if r["relname"] not in PLATFORM_TABLES]
    assert len(rows) >= 15
    bad = [r["relname"] for r in rows if not (r["relrowsecurity"] and r["relforcerowsecurity"] and r["policy"])]
    assert bad == [], f"tables without forced RLS and a tenant_isolation policy: {bad}"
    assert [r["relname"] for r in rows if r["pkey"][0] != "tenant_id"] == []


async def test_every_foreign_key_between_tenant_tables_carries_tenant_id(owner_conn):
    """Between two tenant-owned tables, a key without tenant_id could point across tenants
    (and Citus could not co-locate them)."""
    rows = await owner_conn.fetch("""
        SELECT con.conname, (SELECT array_agg(a.attname) FROM unnest(con.conkey) k
                             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k) AS cols
        FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
        WHERE con.contype = 'f' AND c.relnamespace = 'public'::regnamespace
          AND EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = con.confrelid AND attname = 'tenant_id')
          AND c.relname <> ALL($1::text[])""", list(PLATFORM_TABLES))
    assert rows and [r["conname"] for r in rows if "tenant_id" not in r["cols"]] == []
