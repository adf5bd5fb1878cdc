"""``create_app(settings)``: the Litestar application (webhooks, API, pages, health, metrics).

The runtime (database pool, plug-ins, crypto) is built on start-up, or passed in by tests
and ``motcua demo``, and reached by handlers as the ``runtime`` dependency.
"""

from __future__ import annotations

import logging
import time
import secrets
import string
from typing import Any

import asyncpg
from litestar import Litestar, MediaType, Request, Response
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.plugins.problem_details import ProblemDetailsConfig, ProblemDetailsPlugin
from litestar.types import ASGIApp, Receive, Scope, Send

from motcua import logs, metrics, tracing
from motcua.runtime import Runtime
from motcua.settings import Settings

log = logging.getLogger(__name__)


def _problem(status: int, title: str, detail: str, **extra: Any) -> Response[dict[str, Any]]:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    headers = {"Retry-After": "5"} if status == 503 else None
    return Response(body, status_code=status, media_type="application/problem+json", headers=headers)


def database_unavailable(_: Request, exc: Exception) -> Response[dict[str, Any]]:
    log.warning("database unavailable: %s", exc.__class__.__name__)
    return _problem(503, "Service Unavailable", "Hệ thống đang bận, xin vui lòng thử lại sau ít phút.")


def internal_error(request: Request, exc: Exception) -> Response[dict[str, Any]]:
    if isinstance(exc, HTTPException):  # handled by the problem-details plug-in
        raise exc
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _problem(500, "Internal Server Error", "Đã có lỗi xảy ra. Chúng tôi đã ghi nhận và sẽ khắc phục sớm.")


def new_request_id() -> str:
    """Sixteen lower-case letters: unique enough, and never mistaken for a phone or ID number."""
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(16))


def _request_id(scope: Scope) -> str:
    """The caller's X-Request-Id, or a new one; kept in the scope so every layer agrees."""
    state = scope.setdefault("state", {})
    if "request_id" not in state:
        given = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"x-request-id"), "")
        state["request_id"] = given[:64] if given.isprintable() and given else new_request_id()
    return state["request_id"]


async def echo_request_id(message: Any, scope: Scope) -> None:
    """Runs for every response, routed or not (a 404 never reaches route middleware)."""
    if message["type"] == "http.response.start":
        message["headers"] = [*message.get("headers", []), (b"x-request-id", _request_id(scope).encode())]


def request_context(app: ASGIApp) -> ASGIApp:
    """Request id (echoed in X-Request-Id), tenant from the path, metrics per route, and the
    request's span when tracing is on (webhooks count their own outcomes, per tenant)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        rid = _request_id(scope)
        logs.request_id.set(rid)
        parts = scope["path"].split("/")
        tenant = parts[2] if len(parts) > 2 and parts[1] in {"zalo", "onestop", "t", "admin", "inbox"} else None
        logs.tenant_id.set(tenant)
        started = time.perf_counter()
        status_holder = {"status": 500}
        route = scope.get("path_template") or (scope.get("route_handler") and scope["route_handler"].paths) or "?"
        route = route if isinstance(route, str) else next(iter(route), "?")

        async def send_wrapper(message: Any) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
            await send(message)

        with tracing.server_span(scope["method"], route, scope.get("headers", []), tenant) as span:
            try:
                await app(scope, receive, send_wrapper)
            finally:
                status = status_holder["status"]
                elapsed = time.perf_counter() - started
                metrics.HTTP_REQUESTS.labels(route, scope["method"], str(status)).inc()
                metrics.HTTP_LATENCY.labels(route).observe(elapsed)
                if span is not None:
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        from opentelemetry.trace import Status, StatusCode

                        span.set_status(Status(StatusCode.ERROR, f"HTTP {status}"))

    return middleware


def provide_runtime(state: State) -> Runtime:
    return state.runtime


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> Litestar:
    settings = settings or (runtime.settings if runtime else Settings.from_env())
    from motcua.plugins import Plugins

    plugins = runtime.plugins if runtime else Plugins()

    async def startup(app: Litestar) -> None:
        if getattr(app.state, "runtime", None) is None:
            app.state.runtime = await Runtime.start(settings, plugins=plugins)
            app.state.owns_runtime = True

    async def shutdown(app: Litestar) -> None:
        if getattr(app.state, "owns_runtime", False):
            await app.state.runtime.close()

    return Litestar(
        route_handlers=list(plugins.routes(settings)),
        state=State({"runtime": runtime, "settings": settings, "owns_runtime": False}),
        dependencies={"runtime": Provide(provide_runtime, sync_to_thread=False)},
        on_startup=[startup],
        on_shutdown=[shutdown],
        middleware=[request_context],
        before_send=[echo_request_id],
        plugins=[ProblemDetailsPlugin(ProblemDetailsConfig(enable_for_all_http_exceptions=True))],
        exception_handlers={
            asyncpg.exceptions.CannotConnectNowError: database_unavailable,
            asyncpg.exceptions.ConnectionDoesNotExistError: database_unavailable,
            asyncpg.exceptions.InterfaceError: database_unavailable,
            asyncpg.exceptions.AdminShutdownError: database_unavailable,
            # The server went away mid-transaction (a restart, a failover): the commit finds the
            # connection in a broken state. Found by tests/faults/test_postgres_restart.py.
            asyncpg.exceptions.OperatorInterventionError: database_unavailable,
            asyncpg.exceptions.PostgresConnectionError: database_unavailable,
            asyncpg.exceptions.InternalClientError: database_unavailable,
            ConnectionError: database_unavailable,
            OSError: database_unavailable,
            TimeoutError: database_unavailable,
            Exception: internal_error,
        },
        openapi_config=OpenAPIConfig(title="Motcua", version="0.1.0", path="/schema",
                                     render_plugins=[SwaggerRenderPlugin()],
                                     description="Dịch vụ công của tỉnh trên Zalo: API của Motcua."),
        cors_config=CORSConfig(allow_origins=["*"], allow_headers=["*"], allow_methods=["GET", "POST", "PUT", "DELETE"]),
        debug=False,
        logging_config=None,  # logging is ours (motcua.logs: JSON, masked), not Litestar's default
    )
