"""Registers the Zalo simulator's routes under ``/sim`` — only when ``settings.enable_simulator``
is on (``motcua demo`` and tests), never in ``motcua serve`` otherwise."""

from __future__ import annotations

from motcua.plugins import hookimpl


@hookimpl
def motcua_register_routes(registry) -> None:
    if not getattr(registry.settings, "enable_simulator", False):
        return
    from motcua.sim.routes import sim_router

    registry.add(sim_router())
