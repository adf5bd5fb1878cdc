"""The plug-in manager factory and the registries hooks fill.

``get_plugin_manager()`` builds a fresh manager: the specs, the built-in plug-ins, then every
distribution registered under the entry-point group ``motcua``. Nothing is built at import.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

import pluggy

from motcua import hookspecs
from motcua.jobs.registry import JobRegistry
from motcua.onestop.registry import AdapterRegistry

hookimpl = pluggy.HookimplMarker("motcua")

# Built-in features are plug-ins too, loaded through the same hooks.
BUILTIN_PLUGINS: tuple[str, ...] = (
    "motcua.web.builtin",  # health, readiness, metrics
    "motcua.sync.builtin",  # dossier sync, push intake, lookups
    "motcua.channels.zalo.builtin",  # Zalo webhooks, sends, tokens, OAuth connect
    "motcua.sim.builtin",  # the Zalo simulator (only when settings.enable_simulator)
    "motcua.staff.builtin",  # sign-in, officer inbox, feedback, admin console, KPIs
    "motcua.citizen.builtin",  # conversation, status page, ratings, procedures, news, Mini App API
    "motcua.submission.builtin",  # online submission: the form, photos of papers, receipts, postal delivery
)


class Utility(Protocol):
    name: str
    title: str
    keywords: tuple[str, ...]

    async def answer(self, query: str, context: Any) -> str: ...


class UtilityRegistry(dict[str, Utility]):
    def register(self, utility: Utility) -> None:
        self[utility.name] = utility


class SubscriberRegistry(list[Callable[..., Awaitable[None]]]):
    def subscribe(self, handler: Callable[..., Awaitable[None]]) -> None:
        self.append(handler)


class RouteRegistry(list[Any]):
    """Route handlers for one app; ``settings`` lets a plug-in add routes only when enabled."""

    def __init__(self, settings: Any) -> None:
        super().__init__()
        self.settings = settings

    def add(self, handler: Any) -> None:
        self.append(handler)


def get_plugin_manager(*, load_entry_points: bool = True, extra: tuple[object, ...] = ()) -> pluggy.PluginManager:
    import importlib

    pm = pluggy.PluginManager("motcua")
    pm.add_hookspecs(hookspecs)
    for name in BUILTIN_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    for plugin in extra:
        pm.register(plugin)
    if load_entry_points:
        pm.load_setuptools_entrypoints("motcua")
    pm.check_pending()
    return pm


@dataclass
class Plugins:
    """What the hooks registered, collected once per process."""

    pm: pluggy.PluginManager = field(default_factory=get_plugin_manager)

    @cached_property
    def adapters(self) -> AdapterRegistry:
        reg = AdapterRegistry()
        self.pm.hook.motcua_register_adapters(registry=reg)
        return reg

    @cached_property
    def utilities(self) -> UtilityRegistry:
        reg = UtilityRegistry()
        self.pm.hook.motcua_register_utilities(registry=reg)
        return reg

    @cached_property
    def subscribers(self) -> SubscriberRegistry:
        reg = SubscriberRegistry()
        self.pm.hook.motcua_register_subscribers(registry=reg)
        return reg

    @cached_property
    def jobs(self) -> JobRegistry:
        reg = JobRegistry()
        self.pm.hook.motcua_register_jobs(registry=reg)
        return reg

    def routes(self, settings: Any) -> RouteRegistry:
        reg = RouteRegistry(settings)
        self.pm.hook.motcua_register_routes(registry=reg)
        return reg
