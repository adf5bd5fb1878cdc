"""The sub-commands. Each is ``async def cmd_<name>(args) -> int``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from pathlib import Path

from motcua.settings import Settings


def out(text: str = "") -> None:
    print(text, flush=True)


async def _serve_forever(app, host: str, port: int, *, extra_tasks=()) -> None:
    import uvicorn

    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    tasks = [asyncio.create_task(t) for t in extra_tasks]
    try:
        await server.serve()
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def cmd_migrate(args) -> int:
    from motcua.runtime import Runtime

    rt = await Runtime.start(Settings.from_env(demo=Settings.from_env().database_url is None), migrate_db=True)
    await rt.close()
    out("schema is up to date")
    return 0


async def cmd_serve(args) -> int:
    from motcua.app import create_app

    settings = Settings.from_env()
    if args.migrate:
        settings = settings.replace(migrate_on_start=True)
    await _serve_forever(create_app(settings), args.host, args.port)
    return 0


async def cmd_worker(args) -> int:
    from motcua.runtime import Runtime
    from motcua.worker import Worker

    settings = Settings.from_env()
    rt = await Runtime.start(settings, migrate_db=args.migrate or settings.migrate_on_start)
    worker = Worker(rt, concurrency=args.concurrency)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, worker.stop)
    try:
        await worker.run()
    finally:
        await rt.close()
    return 0


def _tenants_dir(args, settings: Settings) -> Path:
    return args.dir or settings.tenants_dir


async def cmd_tenants(args) -> int:
    from motcua.plugins import Plugins
    from motcua.tenancy.loader import load_dir

    settings = Settings.from_env()
    if args.action == "schema":
        from motcua.tenancy.schema import json_schema

        text = json.dumps(json_schema(), ensure_ascii=False, indent=2)
        if args.output:
            args.output.write_text(text + "\n", encoding="utf-8")
        else:
            out(text)
        return 0
    if args.action == "list" and args.dir is None:
        return await _list_applied(settings)
    plugins = Plugins()
    loaded = load_dir(_tenants_dir(args, settings), plugins.adapters)
    for problem in loaded.problems:
        out(f"error: {problem}")
    if args.action == "validate":
        if loaded.problems:
            out(f"{len(loaded.problems)} problem(s); nothing was changed")
            return 1
        out(f"{len(loaded.tenants)} tenant file(s) are valid: {', '.join(t.slug for t in loaded.tenants)}")
        return 0
    if args.action == "list":
        for t in loaded.tenants:
            family = t.file.adapter.family
            out(f"{t.slug:12} {t.file.name:28} stat {t.file.stat_code}  {t.file.agency_code}  adapter {family}")
        return 1 if loaded.problems else 0
    if loaded.problems:
        out(f"{len(loaded.problems)} problem(s); nothing was applied")
        return 1
    return await _apply(settings, loaded.tenants)


async def _apply(settings: Settings, tenants) -> int:
    from motcua.db.database import connect
    from motcua.runtime import Runtime
    from motcua.tenancy.apply import apply_all

    rt = await Runtime.start(settings.replace(demo=settings.demo or settings.database_url is None), migrate_db=True)
    try:
        conn = await connect(rt.owner_url)
        try:
            results = await apply_all(conn, rt.crypto, tenants)
        finally:
            await conn.close()
    finally:
        await rt.close()
    for slug, changes in results.items():
        out(f"{slug}: {'; '.join(changes) if changes else 'unchanged'}")
    return 0


async def _list_applied(settings: Settings) -> int:
    from motcua.runtime import Runtime

    rt = await Runtime.start(settings.replace(demo=settings.demo or settings.database_url is None), migrate_db=True)
    try:
        async with rt.db.system() as conn:
            rows = await conn.fetch("SELECT id, name, stat_code, agency_code, config->'adapter'->>'family' AS family, "
                                    "updated_at FROM tenant WHERE active ORDER BY id")
    finally:
        await rt.close()
    if not rows:
        out("no tenants applied yet: run `motcua tenants apply`")
    for r in rows:
        out(f"{r['id']:12} {r['name']:28} stat {r['stat_code']}  {r['agency_code']}  adapter {r['family']}  "
            f"applied {r['updated_at']:%Y-%m-%d %H:%M}")
    return 0


async def cmd_adapters(args) -> int:
    from motcua.plugins import Plugins

    plugins = Plugins()
    if args.action == "list":
        for cls in plugins.adapters:
            caps = ", ".join(sorted(cls.capabilities))
            out(f"{cls.family:12} {cls.__module__.split('.')[0]:18} {caps}")
        return 0
    from motcua.onestop.template import render_adapter

    path = render_adapter(args.name, args.dir)
    out(f"created {path}: add it to the workspace with `uv sync` and fill in wire.py and mapping.py")
    return 0


async def cmd_sync(args) -> int:
    from motcua.sync.cli import run_sync

    return await run_sync(args)


async def cmd_demo(args) -> int:
    from motcua.demo import run_demo

    return await run_demo(args)


async def cmd_users(args) -> int:
    from motcua.staff.cli import run_users

    return await run_users(args)
