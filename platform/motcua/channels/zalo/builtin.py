"""Registers the Zalo channel: webhook, OAuth connect and connection-state routes; the
``zalo.message``, ``zalo.event``, ``zalo.converse``, ``zalo.send``, ``zalo.profile``, ``zalo.cleanup`` and
``zalo.refresh_token`` jobs."""

from motcua.plugins import hookimpl


@hookimpl
def motcua_register_routes(registry) -> None:
    from motcua.channels.zalo.oauth import connect_oa, oauth_callback, zalo_connection
    from motcua.channels.zalo.webhook import shared_webhook, tenant_webhook

    for handler in (tenant_webhook, shared_webhook, connect_oa, oauth_callback, zalo_connection):
        registry.add(handler)


@hookimpl
def motcua_register_jobs(registry) -> None:
    from motcua.channels.zalo.outbox import send_job
    from motcua.channels.zalo.processing import cleanup_job, converse_job, event_batch, event_job, profile_job
    from motcua.channels.zalo.tokens import refresh_job

    registry.register("zalo.message", event_job, batch=event_batch)
    registry.register("zalo.event", event_job)
    registry.register("zalo.converse", converse_job)
    registry.register("zalo.send", send_job)
    registry.register("zalo.profile", profile_job)
    registry.register("zalo.cleanup", cleanup_job)
    registry.register("zalo.refresh_token", refresh_job)
