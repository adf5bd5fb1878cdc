"""Sign-in: cookies, CSRF, throttling, expiry, roles and the audit trail, over real HTTP."""

from __future__ import annotations

import re

import httpx
import pytest

from .conftest import Account, csrf_of, sign_in


async def test_signing_in_sets_a_secure_session_cookie_and_lands_on_the_role_home(server, accounts):
    async with httpx.AsyncClient(base_url=server) as c:
        r = await sign_in(c, accounts["officer_tp"])
        assert r.status_code == 303
        assert r.headers["location"] == "/inbox/ca-mau/"
        cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("motcua_staff="))
        assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
        assert "Secure" not in cookie  # the test server's public URL is http; https would add it
        page = await c.get("/inbox/ca-mau/")
        assert page.status_code == 200 and "Câu hỏi của người dân" in page.text


async def test_wrong_password_is_refused_with_a_kind_message(server, accounts):
    async with httpx.AsyncClient(base_url=server) as c:
        r = await sign_in(c, accounts["viewer"], password="sai-mat-khau-roi")
        assert r.status_code == 401 and "không đúng" in r.text
        assert (await c.get("/admin/ca-mau/kpi")).status_code == 303  # still not signed in


async def test_sign_in_is_throttled_in_the_database(server, runtime, tenants):
    from motcua.domain.auth import create_staff_user

    async with runtime.db.tenant("ca-mau") as conn:
        await create_staff_user(conn, "ca-mau", email="throttle.me@ca-mau.example.vn", name="Throttle", role="viewer",
                                password="Dung-mat-khau-2025", update=True)
    acct = Account("ca-mau", "throttle.me@ca-mau.example.vn", "Dung-mat-khau-2025")
    async with httpx.AsyncClient(base_url=server) as c:
        for _ in range(5):
            assert (await sign_in(c, acct, password="sai-mat-khau-nua")).status_code == 401
        r = await sign_in(c, acct)  # the right password, but the account is locked for a while
        assert r.status_code == 429 and "15 phút" in r.text
    async with runtime.db.system() as conn:  # the lock lives in PostgreSQL, shared by every process
        assert await conn.fetchval("SELECT count(*) FROM staff_signin_attempt WHERE locked_until > now()") >= 1


async def test_login_form_without_its_csrf_token_is_refused(server, accounts):
    async with httpx.AsyncClient(base_url=server) as c:
        r = await c.post("/login", data={"scope": "ca-mau", "email": accounts["admin"].email,
                                         "password": accounts["admin"].password})
        assert r.status_code == 403
        assert "motcua_staff=" not in r.headers.get("set-cookie", "")


async def test_a_form_post_without_the_session_csrf_token_changes_nothing(client_for, accounts, runtime):
    admin = await client_for(accounts["admin"])
    r = await admin.post("/admin/ca-mau/settings", data={"reply_signature": "Forged"})
    assert r.status_code == 403
    async with runtime.db.tenant("ca-mau") as conn:
        assert await conn.fetchval("SELECT value FROM tenant_setting WHERE key = 'reply_signature'") != "Forged"
    ok = await admin.post("/admin/ca-mau/settings", data={"reply_signature": "Bộ phận một cửa",
                                                           "_csrf": await csrf_of(admin)})
    assert ok.status_code == 303
    audit = await admin.get("/admin/ca-mau/audit")
    assert "tenant_setting" in audit.text and "Bộ phận một cửa" in audit.text


async def test_idle_sessions_expire_and_logout_ends_the_session(client_for, accounts, runtime):
    viewer = await client_for(accounts["viewer"])
    assert (await viewer.get("/admin/ca-mau/kpi")).status_code == 200
    token = viewer.cookies["motcua_staff"]
    from motcua.domain.auth.sessions import token_hash

    async with runtime.db.system() as conn:
        await conn.execute("UPDATE staff_session SET last_seen_at = now() - interval '3 hours' WHERE token_hash = $1",
                           token_hash(token))
    r = await viewer.get("/admin/ca-mau/kpi")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")

    officer = await client_for(accounts["officer_dd"])
    csrf = await csrf_of(officer)
    assert (await officer.post("/logout", data={"_csrf": csrf})).status_code == 303
    assert (await officer.get("/api/v1/staff/me")).status_code == 401


async def test_sign_ins_are_in_the_audit_log_for_admins_only(client_for, accounts):
    await client_for(accounts["officer_tp"])
    admin = await client_for(accounts["admin"])
    page = await admin.get("/admin/ca-mau/audit?entity=staff_user")
    assert f"staff:{accounts['officer_tp'].email}" in page.text and "sign_in" in page.text
    officer = await client_for(accounts["officer_tp"])
    assert (await officer.get("/admin/ca-mau/audit")).status_code == 403


@pytest.mark.parametrize("key,home", [("admin", "/admin/ca-mau/"), ("viewer", "/admin/ca-mau/kpi"),
                                      ("operator", "/admin/")])
async def test_each_role_lands_on_its_page(server, accounts, key, home):
    async with httpx.AsyncClient(base_url=server) as c:
        r = await sign_in(c, accounts[key])
        assert r.headers["location"] == home
        assert (await c.get(home)).status_code == 200


async def test_next_parameter_never_leaves_the_site(server, accounts):
    async with httpx.AsyncClient(base_url=server) as c:
        page = await c.get("/login", params={"next": "//evil.example/x"})
        token = re.search(r'name="_csrf" value="([^"]+)"', page.text).group(1)
        r = await c.post("/login", data={"_csrf": token, "scope": "ca-mau", "email": accounts["admin"].email,
                                         "password": accounts["admin"].password, "next": "//evil.example/x"})
        assert r.status_code == 303 and r.headers["location"].startswith("/") and "evil" not in r.headers["location"]
