"""Registers online submission: the citizen's form pages and the jobs that send submissions and
postal requests to the one-stop system."""

from __future__ import annotations

from motcua.jobs import Retry
from motcua.plugins import hookimpl


async def send_submission_job(job, ctx) -> None:
    """``submissions.send``: send a queued or waiting submission; while the one-stop system is
    down, retry with a growing delay and never give up (Retry does not count attempts)."""
    from motcua.domain.submissions.service import retry_delay, send_submission

    # Its own transaction, so the 'waiting' state and the citizen's message are committed even
    # though this job is retried (a Retry rolls back the job's transaction).
    async with ctx.runtime.db.tenant(ctx.tenant_id) as conn:
        draft = await send_submission(conn, ctx.runtime, ctx.tenant_id, int(job.payload["submission_id"]))
    if draft is not None and draft.status == "waiting":
        raise Retry("the one-stop system is unavailable", delay=retry_delay(draft.attempts))


async def send_postal_job(job, ctx) -> None:
    """``postal.send``: hand a postal request to the one-stop system, or record it for officers."""
    from motcua.domain.postal.service import send_request

    await send_request(ctx.conn, ctx.runtime, ctx.tenant_id, int(job.payload["postal_request_id"]))


async def cleanup_job(job, ctx) -> None:
    """``submissions.cleanup`` (daily per tenant): abandoned drafts and their photos are deleted."""
    from motcua.domain.submissions.service import delete_abandoned_drafts

    await delete_abandoned_drafts(ctx.conn, ctx.runtime)


@hookimpl
def motcua_register_routes(registry) -> None:
    from motcua.submission.pages import ROUTES

    for handler in ROUTES:
        registry.add(handler)


@hookimpl
def motcua_register_jobs(registry) -> None:
    registry.register("submissions.send", send_submission_job)
    registry.register("postal.send", send_postal_job)
    registry.register("submissions.cleanup", cleanup_job)


@hookimpl(optionalhook=True, tryfirst=True)  # before the general bot: "nộp hồ sơ ..." and photos for a draft
def motcua_register_chat(registry) -> None:
    from motcua.submission.chat import handle

    registry.register(handle)
