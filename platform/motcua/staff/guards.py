"""Sign-in in front of ``/admin/...`` handlers that other parts register (the Zalo OAuth connect
handler lives with the channel): only the tenant's admins (and vendor operators) reach them."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from motcua.domain.auth import load_session
from motcua.staff.web import SESSION_COOKIE


async def tenant_admin_guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    runtime = connection.app.state.runtime
    p = await load_session(runtime.db, connection.cookies.get(SESSION_COOKIE))
    if p is None:
        raise NotAuthorizedException("Cần đăng nhập với tài khoản quản trị.")
    tenant = connection.path_params.get("tenant")
    if tenant is None:
        if p.role != "operator":
            raise PermissionDeniedException("Chỉ nhà cung cấp được làm việc này.")
        return
    if not p.can_view(str(tenant)):
        raise NotFoundException()
    if not p.can_admin(str(tenant)):
        raise PermissionDeniedException("Chỉ quản trị tỉnh được làm việc này.")


def _paths(item: Any) -> set[str]:
    paths = getattr(item, "paths", None)
    if paths:
        return set(paths)
    path = getattr(item, "path", None)
    return {path} if isinstance(path, str) else set()


def guard_foreign_admin_routes(registry: list[Any]) -> int:
    """Add the guard to every registered handler or router under /admin/ that is not ours."""
    from motcua.staff.web import EXCEPTION_HANDLERS

    guarded = 0
    for item in registry:
        if getattr(item, "exception_handlers", None) and set(EXCEPTION_HANDLERS) <= set(item.exception_handlers or {}):
            continue  # the staff router guards its own pages
        if any(p == "/admin" or p.startswith("/admin/") for p in _paths(item)):
            current = list(getattr(item, "guards", None) or [])
            if tenant_admin_guard not in current:
                item.guards = [*current, tenant_admin_guard]
                guarded += 1
    return guarded
