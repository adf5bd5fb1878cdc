"""Registers the ``push`` family through the entry-point group ``motcua``."""

from motcua.plugins import hookimpl


@hookimpl
def motcua_register_adapters(registry) -> None:
    from motcua_push.adapter import PushAdapter

    registry.register(PushAdapter)
