"""``motcua sync TENANT [--since YYYY-MM-DD]``: pull changed dossiers from a tenant's system now.

Without ``--since`` it resumes the tenant's change feed from its stored cursor, exactly like the
scheduled poll; with it, it backfills every change since that day (local time). Progress goes to
stderr (pages, dossiers, rate), the summary to stdout. Exit status: 0 done, 1 the system is down
or refused, 2 bad arguments (unknown tenant, bad date, no change feed).
"""

from __future__ import annotations

import sys
from datetime import date, datetime
from typing import TextIO
from zoneinfo import ZoneInfo

from motcua.onestop.contract import AdapterError, Capability, Unavailable
from motcua.sync.engine import PollReport, poll


class Progress:
    """A one-line progress bar on a terminal, plain lines otherwise (logs, CI)."""

    def __init__(self, stream: TextIO, tenant: str) -> None:
        self.stream = stream
        self.tenant = tenant
        self.tty = stream.isatty()
        self.spin = 0

    def __call__(self, r: PollReport) -> None:
        self.spin = (self.spin + 1) % 20
        bar = "".join("#" if i == self.spin else "." for i in range(20))
        line = (f"{self.tenant}: [{bar}] {r.pages} trang, {r.dossiers} hồ sơ, {r.events} sự kiện, "
                f"{r.rate:.0f} hồ sơ/giây")
        if self.tty:
            self.stream.write("\r" + line + "\033[K")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def done(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def parse_since(text: str, tz: str) -> datetime:
    day = date.fromisoformat(text)
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz))


async def sync_now(runtime, tenant: str, since_text: str | None, *, out: TextIO, err: TextIO) -> int:
    t = await runtime.tenant(tenant)
    if t is None:
        known = ", ".join(await runtime.tenant_slugs()) or "chưa có tỉnh nào; chạy `motcua tenants apply`"
        err.write(f"error: unknown tenant '{tenant}' (known: {known})\n")
        return 2
    since = None
    if since_text:
        try:
            since = parse_since(since_text, t.file.timezone)
        except ValueError:
            err.write(f"error: --since '{since_text}' is not a date like 2025-07-01\n")
            return 2
    try:
        adapter = await runtime.adapter(tenant)
    except LookupError as exc:
        err.write(f"error: {tenant}: {exc}\n")
        return 2
    if Capability.change_feed not in adapter.capabilities:
        err.write(f"error: {tenant}'s system ({adapter.family}) has no change feed to pull; "
                  "its dossiers are fetched when looked up\n")
        return 2
    progress = Progress(err, tenant)
    try:
        report = await poll(runtime, tenant, since=since, on_page=progress)
    except Unavailable as exc:
        progress.done()
        err.write(f"error: {tenant}'s one-stop system is unavailable: {exc}. Nothing after the last stored page "
                  "was lost; run again later.\n")
        return 1
    except AdapterError as exc:
        progress.done()
        err.write(f"error: {tenant}'s one-stop system refused or answered badly ({exc.__class__.__name__}): {exc}\n")
        return 1
    progress.done()
    if report.superseded:
        out.write(f"{tenant}: another sync of this province was running and took over after "
                  f"{report.pages} page(s)\n")
        return 0
    out.write(f"{tenant}: {report.pages} page(s), {report.dossiers} dossier(s) "
              f"({report.created} new, {report.updated} changed), {report.events} timeline event(s), "
              f"{report.quarantined} quarantined, in {report.seconds:.1f} s ({report.rate:.0f}/s)\n")
    return 0


async def run_sync(args, *, runtime=None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """The ``motcua sync`` command. Tests pass their own runtime; the CLI builds one from the environment."""
    out = out or sys.stdout
    err = err or sys.stderr
    if runtime is not None:
        return await sync_now(runtime, args.tenant, args.since, out=out, err=err)
    from motcua.runtime import Runtime
    from motcua.settings import Settings

    settings = Settings.from_env()
    settings = settings.replace(demo=settings.demo or settings.database_url is None)
    rt = await Runtime.start(settings)
    try:
        return await sync_now(rt, args.tenant, args.since, out=out, err=err)
    finally:
        await rt.close()
