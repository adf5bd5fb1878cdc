"""Registers the ``igate`` family through the entry-point group ``motcua``."""

from motcua.plugins import hookimpl


@hookimpl
def motcua_register_adapters(registry) -> None:
    from motcua_igate.adapter import IGateAdapter

    registry.register(IGateAdapter)
