"""OpenID Connect sign-in end to end, against a tiny provider on its own port."""

from __future__ import annotations

import httpx
import pytest

from motcua.onestop.sandbox import serve_app, stop_server

from ..conftest import free_port
from .oidc_provider import Provider


@pytest.fixture(scope="module")
async def provider():
    port = free_port()
    p = Provider(issuer=f"http://127.0.0.1:{port}")
    srv = await serve_app(p.app(), "127.0.0.1", port)
    yield p
    await stop_server(srv)


@pytest.fixture
def vendor_oidc(monkeypatch, provider):
    monkeypatch.setenv("MOTCUA_OIDC_ISSUER", provider.issuer)
    monkeypatch.setenv("MOTCUA_OIDC_CLIENT_ID", provider.client_id)
    monkeypatch.setenv("MOTCUA_OIDC_CLIENT_SECRET", provider.client_secret)
    return provider


async def test_sign_in_with_the_provider_end_to_end(server, accounts, vendor_oidc):
    vendor_oidc.email = accounts["admin"].email
    async with httpx.AsyncClient(base_url=server, follow_redirects=True) as c:
        page = await c.get("/login", params={"tenant": "ca-mau"})
        assert "/login/oidc/vendor" in page.text  # the button is offered
        r = await c.get("/login/oidc/vendor", params={"scope": "ca-mau"})
        hops = [str(h.url) for h in r.history]
        assert any(h.startswith(vendor_oidc.issuer + "/authorize") for h in hops)
        assert r.status_code == 200 and r.url.path.rstrip("/") == "/admin/ca-mau"
        me = (await c.get("/api/v1/staff/me")).json()
        assert (me["email"], me["role"], me["tenant"]) == (accounts["admin"].email, "admin", "ca-mau")


async def test_an_operator_signs_in_with_the_provider(server, accounts, vendor_oidc):
    vendor_oidc.email = accounts["operator"].email
    async with httpx.AsyncClient(base_url=server, follow_redirects=True) as c:
        r = await c.get("/login/oidc/vendor", params={"scope": "_vendor"})
        assert r.url.path == "/admin/" and "Các tỉnh đang phục vụ" in r.text


async def test_an_unknown_email_gets_no_session(server, vendor_oidc):
    vendor_oidc.email = "stranger@example.vn"
    async with httpx.AsyncClient(base_url=server, follow_redirects=True) as c:
        r = await c.get("/login/oidc/vendor", params={"scope": "ca-mau"})
        assert r.status_code == 403 and "chưa được cấp quyền" in r.text
        assert (await c.get("/api/v1/staff/me")).status_code == 401


async def test_a_forged_callback_is_refused(server, accounts, vendor_oidc):
    vendor_oidc.email = accounts["admin"].email
    async with httpx.AsyncClient(base_url=server) as c:
        start = await c.get("/login/oidc/vendor", params={"scope": "ca-mau"})
        assert start.status_code == 303
        async with httpx.AsyncClient() as idp:
            back = await idp.get(start.headers["location"])
        code = httpx.URL(back.headers["location"]).params["code"]
        calls = vendor_oidc.token_calls
        r = await c.get("/login/oidc/callback", params={"code": code, "state": "not-the-state"})
        assert r.status_code == 400 and vendor_oidc.token_calls == calls  # never even exchanged
        assert (await c.get("/api/v1/staff/me")).status_code == 401


async def test_an_unverified_email_is_refused(server, accounts, vendor_oidc):
    vendor_oidc.email, vendor_oidc.email_verified = accounts["admin"].email, False
    try:
        async with httpx.AsyncClient(base_url=server, follow_redirects=True) as c:
            r = await c.get("/login/oidc/vendor", params={"scope": "ca-mau"})
            assert r.status_code == 401 and (await c.get("/api/v1/staff/me")).status_code == 401
    finally:
        vendor_oidc.email_verified = True


async def test_a_provinces_own_provider_signs_in_only_its_staff(server, runtime, database, provider, monkeypatch):
    """A tenant file's ``[staff]`` table names the province's provider; it serves that tenant only."""
    from motcua.db.database import connect
    from motcua.domain.auth import create_staff_user
    from motcua.tenancy.apply import apply_tenant
    from motcua.tenancy.schema import AdapterConfig, StaffSignIn, Tenant, TenantFile

    monkeypatch.setenv("OIDC_TINH_CLIENT_SECRET", provider.client_secret)
    monkeypatch.delenv("MOTCUA_OIDC_ISSUER", raising=False)
    tenant = Tenant(slug="oidc-tinh", file=TenantFile(
        name="Tỉnh Thử OIDC", stat_code="96", agency_code="X09", adapter=AdapterConfig(family="none"),
        staff=StaffSignIn(oidc_issuer=provider.issuer, oidc_client_id=provider.client_id,
                          oidc_client_secret_env="OIDC_TINH_CLIENT_SECRET", oidc_label="Tài khoản công vụ")))
    conn = await connect(database.owner_url)
    try:
        await apply_tenant(conn, runtime.crypto, tenant, environ={})
    finally:
        await conn.close()
    async with runtime.db.tenant("oidc-tinh") as c:
        await c.execute("DELETE FROM job")  # no handlers for a test tenant's apply jobs
        await create_staff_user(c, "oidc-tinh", email="canbo@oidc-tinh.example.vn", name="Cán bộ", role="viewer",
                                update=True)
    provider.email = "canbo@oidc-tinh.example.vn"
    async with httpx.AsyncClient(base_url=server, follow_redirects=True) as c:
        login = await c.get("/login", params={"tenant": "oidc-tinh"})
        assert "Tài khoản công vụ" in login.text and "/login/oidc/oidc-tinh" in login.text
        r = await c.get("/login/oidc/oidc-tinh")
        assert r.url.path == "/admin/oidc-tinh/kpi"
        # The province's provider cannot be used to enter another province.
        other = await c.get("/login/oidc/oidc-tinh", params={"scope": "ca-mau"})
        assert other.status_code == 400
