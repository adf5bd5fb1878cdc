"""The ``dossiers.event`` job: hands one new timeline event to every registered subscriber.

The upsert enqueues one job per new event in the transaction that stores it, so an event is
delivered if and only if it was stored. Subscribers (``motcua_register_subscribers``) are called
in registration order as ``await handler(event, context)``, inside the event's tenant
transaction (``context.conn``); if one raises, the job is retried and every subscriber runs
again, so subscribers must be idempotent (the notifier's ``notification.dedupe_key`` is).
"""

from __future__ import annotations

import logging

from motcua.domain.dossiers.store import get_event
from motcua.jobs import Job, JobContext

log = logging.getLogger(__name__)


async def deliver_event(job: Job, ctx: JobContext) -> None:
    event = await get_event(ctx.conn, int(job.payload["event_id"]))
    if event is None:  # its dossier was erased meanwhile: nothing left to tell anyone
        log.info("dossier event %s no longer exists", job.payload.get("event_id"))
        return
    for handler in ctx.runtime.plugins.subscribers:
        await handler(event, ctx)
