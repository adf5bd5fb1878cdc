"""OAuth v4 for Official Accounts (zalo.md §2): the consent page and the token endpoint.

``GET /v4/oa/permission`` shows the OA admin a consent page; "Cho phép" redirects back to the
callback with ``code``, ``oa_id`` and ``state``. ``POST /v4/oa/access_token`` (form, header
``secret_key`` = app secret) trades a code + PKCE verifier, or a refresh token, for a new pair.
Codes live 10 minutes and work once; refresh tokens work once and rotate; success carries
``expires_in`` as a string. The OAuth host's error bodies differ from the OA API's (§2.6):
``error``, ``error_name``, ``error_reason``, ``error_description``, ``ref_doc``. Only -14002
and -14003 are documented; the other codes here are UNCONFIRMED choices.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import secrets
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

from litestar import Request, Response, get, post
from litestar.enums import MediaType
from litestar.response import Redirect

from motcua.runtime import Runtime
from motcua.sim.openapi import injected_fault
from motcua.sim.state import AUTH_CODE_SECONDS, Grant, get_state

REF_DOC = "https://developers.zalo.me/docs/official-account/bat-dau/xac-thuc-va-uy-quyen-cho-ung-dung-new"
INVALID_PARAMETER = -14001  # UNCONFIRMED
INVALID_APP_ID = -14002
INVALID_REDIRECT_OR_VERIFIER = -14003
INVALID_CODE = -14008  # UNCONFIRMED
INVALID_REFRESH_TOKEN = -14014  # UNCONFIRMED: no code is documented for a used/expired refresh token
INVALID_SECRET_KEY = -14019  # UNCONFIRMED


def s256(verifier: str) -> str:
    """RFC 7636 S256, as the official PHP SDK computes it: base64url of the raw digest, no padding."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


def oauth_error(code: int, name: str, reason: str) -> Response[Any]:
    return Response({"error_name": name, "error_reason": reason, "ref_doc": REF_DOC,
                     "error_description": reason, "error": code}, media_type=MediaType.JSON)


PAGE = """<!doctype html><html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Cấp quyền cho ứng dụng</title>
<style>body{{font-family:system-ui,sans-serif;background:#eef3fb;margin:0;padding:24px}}
main{{max-width:420px;margin:auto;background:#fff;border-radius:12px;padding:20px;box-shadow:0 2px 8px #0002}}
h1{{font-size:1.2rem;color:#0068ff}}button{{background:#0068ff;color:#fff;border:0;border-radius:8px;
padding:12px 20px;font-size:1rem;width:100%}}.err{{color:#b00020}}small{{color:#666}}</style></head>
<body><main>{body}</main></body></html>"""


def page(body: str, status: int = 200) -> Response[str]:
    return Response(PAGE.format(body=body), status_code=status, media_type=MediaType.HTML)


def redirect_allowed(oa_redirects: list[str], redirect_uri: str) -> bool:
    parts = urlsplit(redirect_uri)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return False
    return not oa_redirects or redirect_uri.split("?")[0] in oa_redirects


@get("/v4/oa/permission", operation_id="SimOauthPermission")
async def permission(request: Request, runtime: Runtime) -> Response[str]:
    sim = get_state(runtime)
    await sim.load(runtime)
    q = request.query_params
    oa = sim.find_oa(q.get("app_id")) if q.get("app_id") in sim.by_app else None
    if oa is None:
        return page(f'<h1>Lỗi {INVALID_APP_ID}</h1><p class="err">Invalid appId: ứng dụng không tồn tại.</p>')
    redirect_uri = q.get("redirect_uri") or ""
    if not redirect_allowed(oa.redirect_uris, redirect_uri):
        return page(f'<h1>Lỗi {INVALID_REDIRECT_OR_VERIFIER}</h1><p class="err">Invalid redirect uri.</p>')
    hidden = "".join(f'<input type="hidden" name="{k}" value="{html.escape(q.get(k) or "")}">'
                     for k in ("app_id", "redirect_uri", "code_challenge", "state"))
    return page(f"""<h1>Cấp quyền cho ứng dụng</h1>
<p>Ứng dụng <b>{html.escape(oa.app_id)}</b> muốn quản lý Official Account
<b>{html.escape(oa.oa_name)}</b>: gửi tin nhắn, nhận sự kiện, quản lý người quan tâm, gửi tin ZNS.</p>
<form method="post" action="/sim/v4/oa/permission">{hidden}
<button type="submit" id="allow">Cho phép</button></form>
<p><small>Trang mô phỏng Zalo, chỉ dùng cho thử nghiệm.</small></p>""")


@post("/v4/oa/permission", operation_id="SimOauthGrant", status_code=302)
async def grant(request: Request, runtime: Runtime) -> Response[Any]:
    sim = get_state(runtime)
    await sim.load(runtime)
    form = await request.form()
    app_id = str(form.get("app_id") or "")
    oa = sim.find_oa(app_id) if app_id in sim.by_app else None
    redirect_uri = str(form.get("redirect_uri") or "")
    if oa is None:
        return page(f'<h1>Lỗi {INVALID_APP_ID}</h1><p class="err">Invalid appId.</p>')
    if not redirect_allowed(oa.redirect_uris, redirect_uri):
        return page(f'<h1>Lỗi {INVALID_REDIRECT_OR_VERIFIER}</h1><p class="err">Invalid redirect uri.</p>')
    code = secrets.token_urlsafe(64)
    sim.grants[code] = Grant(oa_id=oa.oa_id, app_id=app_id, redirect_uri=redirect_uri,
                             code_challenge=str(form.get("code_challenge") or "") or None,
                             expires_at=time.time() + AUTH_CODE_SECONDS)
    params = {"code": code, "oa_id": oa.oa_id}
    if form.get("state") is not None:
        params["state"] = str(form.get("state"))
    sep = "&" if "?" in redirect_uri else "?"
    return Redirect(redirect_uri + sep + urlencode(params), status_code=302)


@post("/v4/oa/access_token", operation_id="SimOauthAccessToken", status_code=200)
async def access_token(request: Request, runtime: Runtime) -> Response[Any]:
    sim = get_state(runtime)
    await sim.load(runtime)
    form = await request.form()
    app_id = str(form.get("app_id") or "")
    oa = sim.find_oa(app_id) if app_id in sim.by_app else None
    if (fault := await injected_fault(sim, request, oa.oa_id if oa else None, "oauth")) is not None:
        return fault
    secret_key = request.headers.get("secret_key")
    if secret_key is None:
        # Without the header Zalo answers 404 "empty api" (zalo.md §2.1, field notes).
        return Response({"error": 404, "message": "empty api"}, status_code=404, media_type=MediaType.JSON)
    if oa is None:
        return oauth_error(INVALID_APP_ID, "Invalid appId", "App is not active or does not exist")
    grant_type = str(form.get("grant_type") or "")
    stats = sim.stats_for(oa.oa_id)
    if grant_type == "refresh_token":
        stats.refresh_calls += 1
    if not hmac.compare_digest(secret_key, oa.app_secret or "\0"):
        if grant_type == "refresh_token":
            stats.refresh_errors += 1
        return oauth_error(INVALID_SECRET_KEY, "Invalid secret key", "The secret key does not match the app")
    if grant_type == "authorization_code":
        stats.code_exchanges += 1
        code = str(form.get("code") or "")
        g = sim.grants.get(code)
        if g is None or g.used or g.app_id != app_id or time.time() >= g.expires_at:
            return oauth_error(INVALID_CODE, "Invalid authorization code",
                               "The code is invalid, expired or has already been used")
        verifier = str(form.get("code_verifier") or "")
        if not g.code_challenge or not verifier or not hmac.compare_digest(s256(verifier), g.code_challenge):
            return oauth_error(INVALID_REDIRECT_OR_VERIFIER, "Invalid code verifier",
                               "code_verifier does not match the code_challenge")
        g.used = True
    elif grant_type == "refresh_token":
        value = str(form.get("refresh_token") or "")
        hit = sim.refresh.get(value)
        if hit is None or hit[0] != oa.oa_id or time.time() >= hit[1]:
            stats.refresh_errors += 1
            reason = ("The refresh token has already been used" if sim.spent_refresh.get(value) == oa.oa_id
                      else "The refresh token is invalid or expired")
            return oauth_error(INVALID_REFRESH_TOKEN, "Invalid refresh token", reason)
        del sim.refresh[value]  # single use: spent whatever happens next
        sim.spent_refresh[value] = oa.oa_id
    else:
        return oauth_error(INVALID_PARAMETER, "Invalid parameter", "grant_type is invalid")
    pair = sim.issue_tokens(oa)
    return Response({"access_token": pair.access_token, "refresh_token": pair.refresh_token,
                     "expires_in": str(int(pair.access_expires_at - pair.issued_at))}, media_type=MediaType.JSON)


HANDLERS = [permission, grant, access_token]
