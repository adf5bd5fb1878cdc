"""Every hook specification of Motcua, and nothing else.

pluggy calls are synchronous, so each hook runs once at start-up and *registers* objects
(classes, handlers, routes) into a registry the core hands it; the async work happens later
in what was registered. Built-in features use the same hooks as third-party plug-ins.
Arguments are only ever added, never removed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from motcua.channels.zalo.dispatch import ChatRegistry
    from motcua.jobs.registry import JobRegistry
    from motcua.onestop.registry import AdapterRegistry
    from motcua.plugins import RouteRegistry, SubscriberRegistry, UtilityRegistry

hookspec = pluggy.HookspecMarker("motcua")


@hookspec
def motcua_register_adapters(registry: AdapterRegistry) -> None:
    """Register one-stop adapter families.

    Called once when the plug-in manager is built. Call ``registry.register(cls)`` for each
    adapter class (a subclass of ``motcua.onestop.Adapter`` with ``family``, ``Settings`` and
    ``capabilities``). Return nothing.
    """


@hookspec
def motcua_register_utilities(registry: UtilityRegistry) -> None:
    """Register chat utilities (land prices, bus routes, ...) that tenants switch on by name.

    Called once at start-up. Call ``registry.register(utility)`` with an object that has
    ``name``, ``title`` (Vietnamese, for the OA menu), ``keywords`` and an async
    ``answer(query, context)``. Return nothing.
    """


@hookspec
def motcua_register_subscribers(registry: SubscriberRegistry) -> None:
    """Register reactions to dossier timeline events.

    Called once at start-up. Call ``registry.subscribe(handler)`` with an async callable
    ``handler(event, context)``; it runs in the worker, inside the event's tenant
    transaction, after the event is stored. Return nothing.
    """


@hookspec
def motcua_register_jobs(registry: JobRegistry) -> None:
    """Register background job handlers by kind (``<domain>.<verb>``).

    Called once when the worker or the web app is built. Call
    ``registry.register(kind, handler)`` with an async ``handler(job, context)``. Return nothing.
    """


@hookspec
def motcua_register_routes(registry: RouteRegistry) -> None:
    """Add HTTP route handlers and controllers to the web app.

    Called once by ``create_app``. Call ``registry.add(handler_or_router)`` with Litestar
    route handlers, controllers or routers; ``registry.settings`` says what is enabled
    (for example the simulator). Return nothing.
    """


@hookspec
def motcua_register_chat(registry: ChatRegistry) -> None:
    """Register the conversation layer (the bot) that answers citizens on Zalo.

    Called once per process, the first time the worker processes a citizen event. Call
    ``registry.register(handler)`` with an async ``handler(event, ctx) -> bool``
    (``motcua.channels.zalo.dispatch.ChatEvent`` / ``ChatContext``): it runs in the worker
    inside the event's tenant transaction after the citizen and message are stored, replies
    with ``await ctx.reply(text, buttons=...)``, and returns True when it handled the event.
    Handlers are tried in registration order; when none handles a message, a short
    acknowledgement is sent. Return nothing.
    """
