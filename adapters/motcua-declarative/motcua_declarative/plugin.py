"""Registers the ``declarative`` family through the entry-point group ``motcua``."""

from motcua.plugins import hookimpl


@hookimpl
def motcua_register_adapters(registry) -> None:
    from motcua_declarative.adapter import DeclarativeAdapter

    registry.register(DeclarativeAdapter)
