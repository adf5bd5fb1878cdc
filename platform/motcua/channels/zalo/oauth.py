"""Connecting a tenant's OA through Zalo's OAuth v4 with PKCE and state (zalo.md §2).

``GET /admin/{tenant}/zalo/connect`` sends the province admin to Zalo's consent page;
``GET /zalo/oauth/callback?code=&state=&oa_id=`` comes back, exchanges the code with the
verifier kept server-side (sealed in ``zalo_oauth_state``, single use, ten minutes) and stores
the tokens encrypted. ``GET /api/v1/tenants/{tenant}/zalo`` shows the connection state
(connected / needs_reconnect / not_connected).

The functions ``start_connect`` and ``finish_connect`` hold the logic; the route handlers are
thin so that the staff part can put sign-in in front of ``/admin`` (or wrap these functions in
its own handlers). The callback needs no session: ``state`` is unguessable and single use.
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

import msgspec
from litestar import MediaType, Response, get
from litestar.exceptions import NotFoundException
from litestar.params import Parameter
from litestar.response import Redirect

from motcua.channels.zalo import tokens
from motcua.channels.zalo.client import OAuthError, Transient, ZaloClient
from motcua.crypto import get_secret
from motcua.runtime import Runtime

STATE_TTL_SECONDS = 600  # Zalo's authorization code lives ten minutes too
STATE_PURPOSE = "zalo.oauth_verifier"


class ConnectError(Exception):
    """The callback cannot complete; the message is for the admin (Vietnamese)."""


def pkce_pair() -> tuple[str, str]:
    """(verifier, challenge): 43 base64url characters, and base64url(SHA-256(verifier)) unpadded (S256)."""
    verifier = secrets.token_urlsafe(32)
    return verifier, challenge_for(verifier)


def challenge_for(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


def redirect_uri(rt: Runtime) -> str:
    return f"{rt.settings.public_url}/zalo/oauth/callback"


async def start_connect(rt: Runtime, slug: str) -> str:
    """A fresh consent URL for the tenant's OA; its verifier is stored for the callback."""
    tenant = await rt.tenant(slug)
    if tenant is None or tenant.file.zalo is None:
        raise LookupError(f"no Zalo OA configured for tenant {slug!r}")
    verifier, challenge = pkce_pair()
    state = f"{slug}.{secrets.token_urlsafe(24)}"
    async with rt.db.tenant(slug) as conn:
        await conn.execute("DELETE FROM zalo_oauth_state WHERE tenant_id = $1 AND created_at < now() - "
                           "make_interval(secs => $2)", slug, STATE_TTL_SECONDS)
        await conn.execute("INSERT INTO zalo_oauth_state (tenant_id, state, verifier_enc) VALUES ($1, $2, $3)",
                           slug, state, rt.crypto.seal(slug, STATE_PURPOSE, verifier))
    query = urlencode({"app_id": tenant.file.zalo.app_id, "redirect_uri": redirect_uri(rt),
                       "code_challenge": challenge, "state": state})
    return f"{rt.settings.zalo.oauth_url}/v4/oa/permission?{query}"


async def finish_connect(rt: Runtime, *, code: str, state: str, oa_id: str | None) -> str:
    """Exchange the code and store the tokens; returns the tenant slug. Raises ``ConnectError``."""
    slug = state.split(".", 1)[0] if "." in state else ""
    tenant = await rt.tenant(slug) if slug else None
    if tenant is None or tenant.file.zalo is None or not code:
        raise ConnectError("Liên kết kết nối không hợp lệ. Vui lòng bắt đầu lại từ trang quản trị.")
    zalo = tenant.file.zalo
    # Single use: the state is deleted in its own transaction before the code is exchanged.
    async with rt.db.tenant(slug) as conn:
        row = await conn.fetchrow(
            "DELETE FROM zalo_oauth_state WHERE tenant_id = $1 AND state = $2 "
            "RETURNING verifier_enc, created_at > now() - make_interval(secs => $3) AS fresh",
            slug, state, STATE_TTL_SECONDS)
        app_secret = await get_secret(conn, rt.crypto, slug, tokens.APP_SECRET)
    if row is None or not row["fresh"]:
        raise ConnectError("Liên kết kết nối đã hết hạn hoặc đã được dùng. Vui lòng bắt đầu lại từ trang quản trị.")
    if oa_id and oa_id != zalo.oa_id:
        raise ConnectError(f"Tài khoản OA vừa cấp quyền ({oa_id}) không phải OA của {tenant.file.name} "
                           f"({zalo.oa_id}). Vui lòng đăng nhập đúng OA và thử lại.")
    if not app_secret:
        raise ConnectError("Chưa cấu hình App Secret của ứng dụng Zalo cho tỉnh này.")
    verifier = rt.crypto.open(slug, STATE_PURPOSE, row["verifier_enc"])
    client = ZaloClient(rt.http, rt.settings.zalo, timeout=15.0)
    try:
        pair = await client.exchange_code(app_id=zalo.app_id, app_secret=app_secret, code=code, code_verifier=verifier)
    except OAuthError as exc:
        raise ConnectError(f"Zalo từ chối cấp quyền (mã {exc.code}). Vui lòng thử lại.") from exc
    except Transient as exc:
        raise ConnectError("Không kết nối được tới Zalo. Vui lòng thử lại sau ít phút.") from exc
    async with rt.db.tenant(slug) as conn:
        await tokens.store_tokens(conn, rt, slug, zalo.oa_id, pair)
        await conn.execute(
            """INSERT INTO audit_log (tenant_id, actor, action, entity, entity_id, after)
               VALUES ($1, 'zalo-oauth', 'zalo.connected', 'oa_connection', $2, '{"status": "connected"}')""",
            slug, zalo.oa_id)
    return slug


def _page(status: int, title: str, text: str) -> Response[str]:
    body = (f'<!doctype html><html lang="vi"><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width,initial-scale=1"><title>{html.escape(title)}</title>'
            f'<body style="font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem">'
            f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>")
    return Response(body, status_code=status, media_type=MediaType.HTML)


@get("/admin/{tenant:str}/zalo/connect", operation_id="ZaloConnect", include_in_schema=False)
async def connect_oa(tenant: str, runtime: Runtime) -> Redirect:
    try:
        url = await start_connect(runtime, tenant)
    except LookupError as exc:
        raise NotFoundException(str(exc)) from exc
    return Redirect(url, status_code=302)


@get("/zalo/oauth/callback", operation_id="ZaloOAuthCallback", include_in_schema=False)
async def oauth_callback(runtime: Runtime, code: str = "",
                         oauth_state: Annotated[str, Parameter(query="state")] = "",
                         oa_id: str | None = None) -> Response[str]:
    # ``state`` is a reserved parameter name in Litestar, hence the alias.
    try:
        slug = await finish_connect(runtime, code=code, state=oauth_state, oa_id=oa_id)
    except ConnectError as exc:
        return _page(400, "Chưa kết nối được Zalo OA", str(exc))
    tenant = await runtime.tenant(slug)
    name = tenant.file.zalo.oa_name if tenant and tenant.file.zalo else slug
    return _page(200, "Đã kết nối Zalo OA", f"{name} đã được kết nối. Ông/bà có thể đóng trang này.")


class ZaloConnectionRead(msgspec.Struct, kw_only=True):
    tenant: str
    oa_id: str
    oa_name: str
    status: str  # connected, needs_reconnect, not_connected
    connect_url: str
    access_expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None
    connected_at: datetime | None = None
    refreshed_at: datetime | None = None
    last_error: str | None = None


async def connection(rt: Runtime, slug: str) -> ZaloConnectionRead | None:
    tenant = await rt.tenant(slug)
    if tenant is None or tenant.file.zalo is None:
        return None
    async with rt.db.tenant(slug) as conn:
        state = await tokens.connection_state(conn, slug)
    z = tenant.file.zalo
    base = ZaloConnectionRead(tenant=slug, oa_id=z.oa_id, oa_name=z.oa_name, status="not_connected",
                              connect_url=f"/admin/{slug}/zalo/connect")
    if state is None:
        return base
    return msgspec.structs.replace(base, status=state["status"], access_expires_at=state["access_expires_at"],
                                   refresh_expires_at=state["refresh_expires_at"], connected_at=state["connected_at"],
                                   refreshed_at=state["refreshed_at"], last_error=state["last_error"])


@get("/api/v1/tenants/{tenant:str}/zalo", operation_id="GetZaloConnection",
     summary="State of the tenant's Zalo OA connection")
async def zalo_connection(tenant: str, runtime: Runtime) -> ZaloConnectionRead:
    found = await connection(runtime, tenant)
    if found is None:
        raise NotFoundException(f"no Zalo OA configured for tenant {tenant!r}")
    return found
