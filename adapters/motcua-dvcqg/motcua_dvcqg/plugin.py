"""Registers the ``dvcqg`` family through the entry-point group ``motcua``."""

from motcua.plugins import hookimpl


@hookimpl
def motcua_register_adapters(registry) -> None:
    from motcua_dvcqg.adapter import DvcqgAdapter

    registry.register(DvcqgAdapter)
