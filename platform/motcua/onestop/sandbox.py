"""Run the sandbox one-stop systems that demo tenants point at.

An adapter family may offer ``sandbox_app(settings, tenant)``: an ASGI app speaking its
protocol. ``motcua demo`` starts one for every tenant whose adapter ``base_url`` is on this
machine, on the port that URL names, so the tenant file is the only place the address lives.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import uvicorn

from motcua.onestop.registry import AdapterRegistry
from motcua.tenancy.schema import Tenant

log = logging.getLogger(__name__)
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


async def serve_app(app, host: str, port: int) -> uvicorn.Server:
    """Start an ASGI app on host:port in this event loop; returns once it accepts connections."""
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, log_level="warning",
                                           lifespan="auto"))
    server.config.setup_event_loop = lambda: None  # type: ignore[method-assign]
    # The process that embeds us owns the signals (Ctrl-C stops everything in order);
    # uvicorn would otherwise take them and re-raise SIGINT once it has stopped.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    server._motcua_task = task  # type: ignore[attr-defined]
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError(f"could not start a server on {host}:{port}")
        await asyncio.sleep(0.02)
    return server


async def stop_server(server: uvicorn.Server) -> None:
    server.should_exit = True
    with contextlib.suppress(Exception):
        await server._motcua_task  # type: ignore[attr-defined]


@contextlib.asynccontextmanager
async def sandboxes(tenants: list[Tenant], adapters: AdapterRegistry) -> AsyncIterator[dict[str, str]]:
    """Start each loopback sandbox once (tenants may share one); yields tenant -> base URL."""
    servers: dict[tuple[str, int], uvicorn.Server] = {}
    urls: dict[str, str] = {}
    try:
        for tenant in tenants:
            cfg = tenant.file.adapter
            base = str(cfg.settings.get("base_url", ""))
            parts = urlsplit(base)
            if cfg.family not in adapters or parts.hostname not in LOOPBACK or not parts.port:
                continue
            cls = adapters.get(cfg.family)
            factory = getattr(cls, "sandbox_app", None)
            if factory is None or (parts.hostname, parts.port) in servers:
                continue
            app = factory(adapters.settings_for(cfg.family, cfg.settings), tenant)
            servers[(parts.hostname, parts.port)] = await serve_app(app, parts.hostname, parts.port)
            urls[tenant.slug] = base
        yield urls
    finally:
        for server in servers.values():
            await stop_server(server)
