"""Registers the sync jobs."""

from motcua.plugins import hookimpl


@hookimpl
def motcua_register_jobs(registry) -> None:
    from motcua.sync.jobs import register

    register(registry)
