"""Registers the sync part: its jobs (polls, pushes, reconciliation, catalogue, dossier events)
and its routes (push intake, sync health)."""

from motcua.plugins import hookimpl


@hookimpl
def motcua_register_jobs(registry) -> None:
    from motcua.sync.jobs import register

    register(registry)


@hookimpl
def motcua_register_routes(registry) -> None:
    from motcua.sync.api import get_sync_health
    from motcua.sync.push import receive_events

    registry.add(receive_events)
    registry.add(get_sync_health)
