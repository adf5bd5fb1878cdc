"""Accounts: tenant staff (``staff_user``, behind RLS) and vendor operators (``operator``)."""

from __future__ import annotations

import re

import asyncpg

from motcua.domain.auth.passwords import hash_password

ROLES = ("admin", "officer", "viewer")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AccountError(ValueError):
    """Bad account data; the message is Vietnamese, for the person filling in the form."""


def _email(email: str) -> str:
    email = (email or "").strip().lower()
    if not EMAIL.match(email):
        raise AccountError("Địa chỉ email không hợp lệ.")
    return email


async def create_staff_user(conn: asyncpg.Connection, tenant_id: str, *, email: str, name: str, role: str,
                            agencies: list[str] | tuple[str, ...] = (), password: str | None = None,
                            specialist: bool = False, update: bool = False) -> asyncpg.Record:
    """Create (or with ``update``, replace the details of) a tenant account, in the caller's
    tenant transaction. Officers must name at least one of the tenant's agencies."""
    email = _email(email)
    if role not in ROLES:
        raise AccountError("Vai trò phải là admin, officer hoặc viewer.")
    if not (name or "").strip():
        raise AccountError("Cần nhập họ tên.")
    agencies = [a.strip() for a in agencies if a.strip()]
    if agencies:
        known = {r["code"] for r in await conn.fetch("SELECT code FROM agency WHERE tenant_id = $1 AND code = ANY($2)",
                                                     tenant_id, agencies)}
        unknown = [a for a in agencies if a not in known]
        if unknown:
            raise AccountError(f"Không có cơ quan mã {', '.join(unknown)} trong tỉnh này.")
    if role == "officer" and not agencies:
        raise AccountError("Cán bộ cần được gán ít nhất một cơ quan.")
    try:
        pw = hash_password(password) if password else None
    except ValueError as exc:
        raise AccountError(str(exc)) from None
    conflict = ("DO UPDATE SET name = EXCLUDED.name, role = EXCLUDED.role, agencies = EXCLUDED.agencies, "
                "specialist = EXCLUDED.specialist, password_hash = coalesce(EXCLUDED.password_hash, "
                "staff_user.password_hash), active = true, updated_at = now()") if update else "DO NOTHING"
    row = await conn.fetchrow(
        f"""INSERT INTO staff_user (tenant_id, email, name, role, agencies, specialist, password_hash)
            VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, email) {conflict}
            RETURNING id, email, name, role, agencies, specialist, active""",
        tenant_id, email, name.strip(), role, agencies, specialist, pw)
    if row is None:
        raise AccountError("Email này đã có tài khoản.")
    return row


async def create_operator(conn: asyncpg.Connection, *, email: str, name: str, password: str | None = None,
                          update: bool = False) -> asyncpg.Record:
    """A vendor operator (platform-wide)."""
    email = _email(email)
    try:
        pw = hash_password(password) if password else None
    except ValueError as exc:
        raise AccountError(str(exc)) from None
    conflict = ("DO UPDATE SET name = EXCLUDED.name, password_hash = coalesce(EXCLUDED.password_hash, "
                "operator.password_hash), active = true") if update else "DO NOTHING"
    row = await conn.fetchrow(
        f"INSERT INTO operator (email, name, password_hash) VALUES ($1, $2, $3) ON CONFLICT (email) {conflict} "
        "RETURNING id, email, name, active", email, name.strip() or email, pw)
    if row is None:
        raise AccountError("Email này đã có tài khoản.")
    return row


async def find_staff_user(conn: asyncpg.Connection, tenant_id: str, email: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM staff_user WHERE tenant_id = $1 AND email = $2 AND active",
                               tenant_id, (email or "").strip().lower())


async def find_operator(conn: asyncpg.Connection, email: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM operator WHERE email = $1 AND active", (email or "").strip().lower())
