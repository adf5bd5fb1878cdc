"""Shared page machinery: templates, the signed-in principal, CSRF, and the errors pages raise.

Every page finds its principal with ``await signed_in(request, runtime)`` and checks it with
``require(...)``: no session -> the sign-in page; a tenant the person does not belong to -> 404
(we do not confirm that another tenant's rows exist); a role too weak -> 403.
"""

from __future__ import annotations

import hmac
import json
import secrets
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import jinja2
from litestar import MediaType, Request, Response
from litestar.datastructures import Cookie
from litestar.exceptions import HTTPException
from litestar.response import Redirect

from motcua.domain.auth import Principal, load_session
from motcua.runtime import Runtime
from motcua.tenancy.schema import Tenant

SESSION_COOKIE = "motcua_staff"
LOGIN_CSRF_COOKIE = "motcua_login_csrf"
TEMPLATES = Path(__file__).resolve().parent.parent / "web" / "templates"
STATIC = Path(__file__).resolve().parent.parent / "web" / "static"
VN = ZoneInfo("Asia/Ho_Chi_Minh")


class LoginRequired(Exception):
    def __init__(self, next_url: str = "/admin/") -> None:
        super().__init__("sign in first")
        self.next_url = next_url


class PageError(Exception):
    """An error shown as a page (HTML) or problem JSON (API paths)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def not_found() -> PageError:
    return PageError(404, "Không tìm thấy trang hoặc mục này.")


def _vn_time(value: datetime | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    return "" if value is None else value.astimezone(VN).strftime(fmt)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%".replace(".", ",")


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.ChainableUndefined)
    env.filters["vntime"] = _vn_time
    env.filters["pct"] = _pct
    env.filters["tojson_attr"] = lambda v: json.dumps(v, ensure_ascii=False, default=str)
    return env


def render(name: str, *, http_status: int = 200, cookies: list[Cookie] | None = None, **context: Any) -> Response[str]:
    context.setdefault("me", None)
    context.setdefault("tenant", None)
    context.setdefault("flash", None)
    html = environment().get_template(f"staff/{name}").render(**context)
    return Response(html, media_type=MediaType.HTML, status_code=http_status, cookies=cookies or [],
                    headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                             "Referrer-Policy": "same-origin", "X-Content-Type-Options": "nosniff"})


def secure_cookies(runtime: Runtime) -> bool:
    return runtime.settings.public_url.startswith("https://")


def session_cookie(runtime: Runtime, value: str | None, *, max_age: int | None = None) -> Cookie:
    return Cookie(key=SESSION_COOKIE, value=value or "", path="/", httponly=True, samesite="lax",
                  secure=secure_cookies(runtime), max_age=0 if value is None else max_age)


async def signed_in(request: Request, runtime: Runtime) -> Principal | None:
    cached = request.scope.get("motcua.principal", False)
    if cached is not False:
        return cached  # type: ignore[return-value]
    p = await load_session(runtime.db, request.cookies.get(SESSION_COOKIE))
    request.scope["motcua.principal"] = p  # type: ignore[typeddict-unknown-key]
    return p


async def require(request: Request, runtime: Runtime, tenant_slug: str | None = None, *,
                  need: str = "view") -> tuple[Principal, Tenant | None]:
    """The principal, and the tenant when one is named; raises what the page should show."""
    p = await signed_in(request, runtime)
    if p is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target if request.method == "GET" else "/admin/")
    if need == "operator":
        if p.role != "operator":
            raise not_found()
        return p, None
    if tenant_slug is None:
        return p, None
    if not p.can_view(tenant_slug):
        raise not_found()  # another tenant: never confirm it exists
    tenant = await runtime.tenant(tenant_slug)
    if tenant is None:
        raise not_found()
    allowed = {"view": p.can_view, "handle": p.can_handle, "admin": p.can_admin}[need](tenant_slug)
    if not allowed:
        raise PageError(403, "Tài khoản của bạn không có quyền làm việc này.")
    return p, tenant


async def form_data(request: Request) -> dict[str, Any]:
    form = await request.form()
    out: dict[str, Any] = {}
    for key in form:
        values = form.getall(key)
        out[key] = values if len(values) > 1 else values[0]
    return out


def check_csrf(request: Request, p: Principal, form: dict[str, Any] | None = None) -> None:
    """Synchronizer token: the session's own token must come back in the form or a header."""
    sent = (form or {}).get("_csrf") or request.headers.get("x-csrf-token") or ""
    if not isinstance(sent, str) or not hmac.compare_digest(sent, p.csrf):
        raise PageError(403, "Phiên làm việc đã thay đổi; xin tải lại trang rồi thử lại (mã CSRF không khớp).")


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


def redirect(url: str, *, cookies: list[Cookie] | None = None) -> Redirect:
    return Redirect(url, status_code=303, cookies=cookies or [])


def login_redirect(next_url: str) -> Redirect:
    return Redirect(f"/login?next={quote(next_url, safe='')}", status_code=303)


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path.endswith(".json") or \
        "application/json" in request.headers.get("accept", "")


def on_login_required(request: Request, exc: LoginRequired) -> Response[Any]:
    if is_api(request):
        return Response({"title": "Unauthorized", "status": 401, "detail": "Cần đăng nhập."}, status_code=401,
                        media_type="application/problem+json")
    return login_redirect(exc.next_url)


def on_page_error(request: Request, exc: PageError) -> Response[Any]:
    if is_api(request):
        return Response({"title": {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 429: "Too Many Requests"}
                         .get(exc.status, "Error"), "status": exc.status, "detail": exc.message},
                        status_code=exc.status, media_type="application/problem+json")
    return render("error.html", http_status=exc.status, message=exc.message, code=exc.status)


def on_http_exception(request: Request, exc: HTTPException) -> Response[Any]:
    if is_api(request):
        raise exc
    return render("error.html", http_status=exc.status_code, code=exc.status_code,
                  message="Yêu cầu không hợp lệ." if exc.status_code < 500 else "Đã có lỗi xảy ra.")


EXCEPTION_HANDLERS = {LoginRequired: on_login_required, PageError: on_page_error}


def safe_next(url: str | None) -> str:
    """Only local paths: never redirect to another site after sign-in."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return "/admin/"
    return url


def home_for(p: Principal) -> str:
    if p.role == "operator":
        return "/admin/"
    if p.role == "officer":
        return f"/inbox/{p.tenant}/"
    if p.role == "viewer":
        return f"/admin/{p.tenant}/kpi"
    return f"/admin/{p.tenant}/"
