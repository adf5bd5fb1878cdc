"""Sync jobs. ``tenants.applied`` runs after a tenant file is applied."""

from __future__ import annotations

from motcua.jobs import Job, JobContext, JobRegistry


async def tenant_applied(job: Job, ctx: JobContext) -> None:
    """A tenant file was applied: nothing to do yet beyond acknowledging it."""


def register(registry: JobRegistry) -> None:
    registry.register("tenants.applied", tenant_applied)
