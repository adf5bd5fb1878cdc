"""Job handlers by kind, registered through ``motcua_register_jobs``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncpg

    from motcua.jobs.queue import Job
    from motcua.runtime import Runtime


class Retry(Exception):
    """Raise from a handler to run the job again later (after ``delay`` seconds if given),
    without it counting as an error in the logs."""

    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.delay = delay


@dataclass
class JobContext:
    """What a handler gets: the runtime (settings, database, plug-ins, clients) and the open
    tenant transaction in which the job will be marked done."""

    runtime: Runtime
    conn: asyncpg.Connection
    tenant_id: str


Handler = Callable[["Job", JobContext], Awaitable[Any]]
# Runs several ready jobs of one kind and tenant in one transaction; returns the ids of the jobs
# it did (those are deleted with its effects; the others stay queued).
BatchHandler = Callable[[list["Job"], JobContext], Awaitable[set[int]]]


@dataclass
class JobRegistry:
    handlers: dict[str, Handler] = field(default_factory=dict)
    batch_handlers: dict[str, tuple[BatchHandler, int]] = field(default_factory=dict)

    def register(self, kind: str, handler: Handler, *, batch: BatchHandler | None = None,
                 batch_size: int = 32) -> None:
        """``handler`` runs one job. ``batch``, if given, may run up to ``batch_size`` ready jobs
        of this kind and tenant together (a burst of webhook events): fewer statements and
        commits per job. The worker falls back to ``handler`` when the batch fails."""
        if "." not in kind:
            raise ValueError(f"job kind {kind!r} must be named <domain>.<verb>")
        if kind in self.handlers and self.handlers[kind] is not handler:
            raise ValueError(f"job kind {kind!r} is registered twice")
        self.handlers[kind] = handler
        if batch is not None:
            self.batch_handlers[kind] = (batch, batch_size)

    def get(self, kind: str) -> Handler | None:
        return self.handlers.get(kind)
