"""Registers the staff side: its pages and APIs (one router, with its own error pages) and its
jobs. Sign-in is also put in front of other parts' ``/admin/...`` handlers (the Zalo OAuth
connect handler), through a hook wrapper that runs after every plug-in registered its routes."""

from __future__ import annotations

from typing import Any

from motcua.plugins import hookimpl


def staff_router() -> Any:
    from litestar import Router

    from motcua.staff import admin_routes, api_routes, auth_routes, feedback_routes, inbox_routes, kpi_routes, \
        static_routes
    from motcua.staff.web import EXCEPTION_HANDLERS

    handlers = [*auth_routes.ROUTES, *inbox_routes.ROUTES, *feedback_routes.ROUTES, *admin_routes.ROUTES,
                *kpi_routes.ROUTES, *api_routes.ROUTES, *static_routes.ROUTES]
    return Router(path="/", route_handlers=handlers, exception_handlers=dict(EXCEPTION_HANDLERS))


@hookimpl(wrapper=True)
def motcua_register_routes(registry: Any) -> Any:
    from motcua.staff.guards import guard_foreign_admin_routes

    registry.add(staff_router())
    result = yield
    guard_foreign_admin_routes(registry)
    return result


@hookimpl
def motcua_register_jobs(registry: Any) -> None:
    from motcua.domain.broadcasts import run_broadcast

    registry.register("broadcasts.run", run_broadcast)
