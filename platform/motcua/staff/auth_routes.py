"""Sign-in pages: local accounts (argon2) and OpenID Connect; sign-out."""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import time
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.params import Parameter

from motcua.domain import audit
from motcua.domain.auth import (
    SESSION_ABSOLUTE,
    Throttled,
    check_throttle,
    close_session,
    find_operator,
    find_staff_user,
    open_session,
    record_failure,
    record_success,
)
from motcua.domain.auth.oidc import OidcClient, OidcError, OidcProvider, tenant_provider, vendor_provider
from motcua.domain.auth.passwords import verify_password
from motcua.runtime import Runtime
from motcua.staff.web import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    check_csrf,
    form_data,
    home_for,
    new_login_csrf,
    redirect,
    render,
    safe_next,
    secure_cookies,
    session_cookie,
    signed_in,
)

VENDOR = "_vendor"
OIDC_COOKIE = "motcua_oidc"
OIDC_MAX_AGE = 600


async def _tenants(runtime: Runtime) -> list[dict[str, str]]:
    async with runtime.db.system() as conn:
        return [dict(r) for r in await conn.fetch("SELECT id, name FROM tenant WHERE active ORDER BY name")]


async def _providers(runtime: Runtime, scope: str | None) -> list[OidcProvider]:
    out = []
    vendor = vendor_provider()
    if vendor:
        out.append(vendor)
    if scope and scope != VENDOR:
        tenant = await runtime.tenant(scope)
        p = tenant_provider(tenant) if tenant else None
        if p:
            out.append(p)
    return out


async def _login_page(runtime: Runtime, *, scope: str | None, next_url: str, email: str = "", error: str | None = None,
                      status: int = 200) -> Response[str]:
    token = new_login_csrf()
    return render("login.html", http_status=status, tenants=await _tenants(runtime), scope=scope or "", next=next_url,
                  email=email, error=error, login_csrf=token, providers=await _providers(runtime, scope),
                  vendor=VENDOR, cookies=[Cookie(key=LOGIN_CSRF_COOKIE, value=token, path="/login", httponly=True,
                                                 samesite="strict", secure=secure_cookies(runtime), max_age=3600)])


@get("/login", operation_id="StaffLoginPage", include_in_schema=False)
async def login_page(request: Request, runtime: Runtime, next_url: str | None = Parameter(query="next", default=None),
                     tenant: str | None = None) -> Response[Any]:
    p = await signed_in(request, runtime)
    if p is not None:
        return redirect(safe_next(next_url) if next_url else home_for(p))
    nxt = safe_next(next_url)
    scope = tenant or (nxt.split("/")[2] if nxt.count("/") >= 2 and nxt.split("/")[1] in ("admin", "inbox")
                       and nxt.split("/")[2] not in ("", "kpi", "health") else None)
    return await _login_page(runtime, scope=scope, next_url=nxt)


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


@post("/login", operation_id="StaffLogin", include_in_schema=False)
async def login(request: Request, runtime: Runtime) -> Response[Any]:
    form = await form_data(request)
    scope = str(form.get("scope") or "")
    email = str(form.get("email") or "").strip().lower()
    password = str(form.get("password") or "")
    nxt = safe_next(str(form.get("next") or ""))
    cookie_token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie_token or not hmac.compare_digest(cookie_token, str(form.get("_csrf") or "")):
        return await _login_page(runtime, scope=scope, next_url=nxt, email=email, status=403,
                                 error="Trang đăng nhập đã hết hạn; xin nhập lại.")
    if not scope or not email or not password:
        return await _login_page(runtime, scope=scope, next_url=nxt, email=email, status=400,
                                 error="Xin chọn tỉnh (hoặc nhà cung cấp) và nhập email, mật khẩu.")
    address = _client(request)
    async with runtime.db.system() as conn:
        try:
            await check_throttle(conn, scope, email, address)
        except Throttled:
            return await _login_page(runtime, scope=scope, next_url=nxt, email=email, status=429,
                                     error="Đăng nhập sai quá nhiều lần. Xin thử lại sau 15 phút.")
    account: Any = None
    if scope == VENDOR:
        async with runtime.db.system() as conn:
            account = await find_operator(conn, email)
    elif await runtime.tenant(scope) is not None:
        async with runtime.db.tenant(scope) as conn:
            account = await find_staff_user(conn, scope, email)
    # argon2 takes tens of milliseconds of CPU on purpose: keep it off the event loop.
    ok = await asyncio.to_thread(verify_password, account["password_hash"] if account else None, password)
    async with runtime.db.system() as conn:
        if not ok:
            await record_failure(conn, scope, email, address)
        else:
            await record_success(conn, scope, email, address)
    if not ok:
        return await _login_page(runtime, scope=scope, next_url=nxt, email=email, status=401,
                                 error="Email hoặc mật khẩu không đúng.")
    return await _start_session(runtime, scope, account, method="password", next_url=nxt, explicit_next=bool(form.get("next")))


async def _start_session(runtime: Runtime, scope: str, account: Any, *, method: str, next_url: str,
                         explicit_next: bool) -> Response[Any]:
    async with runtime.db.system() as conn:
        if scope == VENDOR:
            token = await open_session(conn, tenant_id=None, operator_id=account["id"], method=method)
        else:
            token = await open_session(conn, tenant_id=scope, user_id=account["id"], method=method)
    if scope != VENDOR:
        async with runtime.db.tenant(scope) as conn:
            await audit.record(conn, scope, f"staff:{account['email']}", "sign_in", "staff_user", account["id"],
                               after={"method": method})
    p = await _principal_for_cookie(runtime, token)
    target = next_url if explicit_next and next_url != "/admin/" else (home_for(p) if p else "/admin/")
    return redirect(target, cookies=[session_cookie(runtime, token, max_age=int(SESSION_ABSOLUTE.total_seconds())),
                                     Cookie(key=LOGIN_CSRF_COOKIE, value="", path="/login", max_age=0)])


async def _principal_for_cookie(runtime: Runtime, token: str):
    from motcua.domain.auth import load_session

    return await load_session(runtime.db, token)


@post("/logout", operation_id="StaffLogout", include_in_schema=False)
async def logout(request: Request, runtime: Runtime) -> Response[Any]:
    p = await signed_in(request, runtime)
    if p is not None:
        check_csrf(request, p, await form_data(request))
        await close_session(runtime.db, request.cookies.get(SESSION_COOKIE))
    return redirect("/login", cookies=[session_cookie(runtime, None)])


# OpenID Connect ------------------------------------------------------------------------------

def _client_for(runtime: Runtime) -> OidcClient:
    client = runtime.state.get("staff.oidc")
    if client is None:
        client = runtime.state["staff.oidc"] = OidcClient(runtime.http)
    return client


def _redirect_uri(runtime: Runtime) -> str:
    return runtime.settings.public_url + "/login/oidc/callback"


def _pack(runtime: Runtime, data: dict[str, Any]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")
    return body + "." + runtime.crypto.sign("oidc:" + body)


def _unpack(runtime: Runtime, value: str | None) -> dict[str, Any] | None:
    if not value or "." not in value:
        return None
    body, sig = value.rsplit(".", 1)
    if not runtime.crypto.verify("oidc:" + body, sig):
        return None
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return data if time.time() - data.get("at", 0) < OIDC_MAX_AGE else None


@get("/login/oidc/{provider:str}", operation_id="StaffOidcStart", include_in_schema=False)
async def oidc_start(runtime: Runtime, provider: str, unit: str | None = Parameter(query="scope", default=None),
                     next_url: str | None = Parameter(query="next", default=None)) -> Response[Any]:
    # ``scope`` is the tenant (or "_vendor") to sign in to; Litestar reserves the name for the ASGI scope.
    scope = unit or (provider if provider != "vendor" else None)
    found = next((p for p in await _providers(runtime, scope) if p.key == provider), None)
    if found is None or not scope or (found.tenant and found.tenant != scope):
        return await _login_page(runtime, scope=scope, next_url=safe_next(next_url), status=400,
                                 error="Xin chọn tỉnh trước khi đăng nhập một lần.")
    try:
        url, keep = await _client_for(runtime).start(found, _redirect_uri(runtime))
    except OidcError as exc:
        return await _login_page(runtime, scope=scope, next_url=safe_next(next_url), status=502, error=str(exc))
    keep.update(scope=scope, next=safe_next(next_url), at=int(time.time()))
    return redirect(url, cookies=[Cookie(key=OIDC_COOKIE, value=_pack(runtime, keep), path="/login/oidc",
                                         httponly=True, samesite="lax", secure=secure_cookies(runtime),
                                         max_age=OIDC_MAX_AGE)])


@get("/login/oidc/callback", operation_id="StaffOidcCallback", include_in_schema=False)
async def oidc_callback(request: Request, runtime: Runtime, code: str | None = None,
                        oauth_state: str | None = Parameter(query="state", default=None),
                        error: str | None = None) -> Response[Any]:
    state = oauth_state
    keep = _unpack(runtime, request.cookies.get(OIDC_COOKIE))
    clear = Cookie(key=OIDC_COOKIE, value="", path="/login/oidc", max_age=0)
    scope = keep["scope"] if keep else None

    async def fail(message: str, status: int = 400) -> Response[Any]:
        page = await _login_page(runtime, scope=scope, next_url=keep["next"] if keep else "/admin/",
                                 status=status, error=message)
        page.cookies.append(clear)
        return page

    if keep is None or not state or not hmac.compare_digest(keep["state"], state):
        return await fail("Phiên đăng nhập một lần đã hết hạn hoặc không khớp; xin thử lại.")
    if error or not code:
        return await fail("Máy chủ đăng nhập một lần đã từ chối yêu cầu.")
    provider = next((p for p in await _providers(runtime, scope) if p.key == keep["provider"]), None)
    if provider is None:
        return await fail("Cấu hình đăng nhập một lần đã thay đổi; xin thử lại.")
    try:
        claims = await _client_for(runtime).finish(provider, code=code, redirect_uri=_redirect_uri(runtime),
                                                   verifier=keep["verifier"], nonce=keep["nonce"])
    except OidcError as exc:
        return await fail(str(exc), 401)
    email = str(claims["email"]).lower()
    if scope == VENDOR:
        async with runtime.db.system() as conn:
            account = await find_operator(conn, email)
    else:
        async with runtime.db.tenant(scope) as conn:
            account = await find_staff_user(conn, scope, email)
    if account is None:
        return await fail(f"Tài khoản {email} chưa được cấp quyền ở đây. Xin liên hệ quản trị.", 403)
    resp = await _start_session(runtime, scope, account, method="oidc", next_url=keep["next"],
                                explicit_next=keep["next"] != "/admin/")
    resp.cookies.append(clear)
    return resp


ROUTES = [login_page, login, logout, oidc_start, oidc_callback]
