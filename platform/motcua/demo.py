"""``motcua demo``: embedded database, migrations, demo tenants, sandbox one-stop systems, the
Zalo simulator, web and worker in one process. Ctrl-C stops all of it, the database too."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
from pathlib import Path

from motcua.settings import Settings


def demo_secrets(data_dir: Path, names: list[str]) -> dict[str, str]:
    """Values for the secrets the demo tenant files name, generated once and kept in the data dir."""
    path = data_dir / "demo-secrets.json"
    values: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    for name in names:
        values.setdefault(name, secrets.token_urlsafe(24))
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values, indent=1))
    path.chmod(0o600)
    return values


async def connect_simulated_oas(rt, tenants) -> None:
    """Connect each demo OA to the simulator as an admin's OAuth consent would, so the demo
    can message citizens at once."""
    from motcua.channels.zalo.client import TokenPair
    from motcua.channels.zalo.tokens import store_tokens
    from motcua.sim.state import get_state

    sim = get_state(rt)
    await sim.load(rt, force=True)
    for tenant in tenants:
        oa = sim.find_oa(tenant.slug) if tenant.file.zalo else None
        if oa is None:
            continue
        pair = sim.issue_tokens(oa)
        async with rt.db.tenant(tenant.slug) as conn:
            await store_tokens(conn, rt, tenant.slug, oa.oa_id, TokenPair(
                pair.access_token, pair.refresh_token, int(pair.access_expires_at - pair.issued_at)))


async def run_demo(args) -> int:
    from motcua.app import create_app
    from motcua.cli.commands import out
    from motcua.db.database import connect
    from motcua.onestop.sandbox import sandboxes, serve_app, stop_server
    from motcua.runtime import Runtime
    from motcua.tenancy.apply import apply_all
    from motcua.tenancy.loader import load_dir, secret_env
    from motcua.worker import Worker

    base = Settings.from_env()
    public = os.environ.get("MOTCUA_PUBLIC_URL") or f"http://{args.host}:{args.port}"
    zalo_base = f"{public}/sim"
    settings = base.replace(demo=True, enable_simulator=True, public_url=public, migrate_on_start=True,
                            zalo=base.zalo.__class__(openapi_url=zalo_base, oauth_url=zalo_base,
                                                     business_url=zalo_base, graph_url=zalo_base))
    # Ctrl-C at any moment, even while starting, stops everything in order.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    out("Motcua demo: starting the embedded database…")
    rt = await Runtime.start(settings)
    try:
        loaded = load_dir(settings.tenants_dir, rt.plugins.adapters)
        for problem in loaded.problems:
            out(f"error: {problem}")
        if loaded.problems:
            return 1
        names = sorted({env for t in loaded.tenants for env in secret_env(t).values()})
        for name, value in demo_secrets(settings.data_dir, names).items():
            os.environ.setdefault(name, value)
        conn = await connect(rt.owner_url)
        try:
            for slug, changes in (await apply_all(conn, rt.crypto, loaded.tenants)).items():
                out(f"  tenant {slug}: {'; '.join(changes) if changes else 'unchanged'}")
        finally:
            await conn.close()
        from motcua.staff.demo_accounts import DEMO_PASSWORD, ensure_demo_accounts

        staff_accounts = await ensure_demo_accounts(rt, {t.slug for t in loaded.tenants})
        await connect_simulated_oas(rt, loaded.tenants)
        async with sandboxes(loaded.tenants, rt.plugins.adapters) as urls:
            for slug, url in urls.items():
                out(f"  sandbox one-stop system for {slug}: {url}")
            worker = Worker(rt)
            worker_task = asyncio.create_task(worker.run())
            server = await serve_app(create_app(settings, runtime=rt), args.host, args.port)
            out("")
            out(f"Motcua is running at {public}")
            out(f"  Zalo simulator (chat as a citizen): {public}/sim/")
            out(f"  Admin console:                      {public}/admin/")
            out(f"  Officer inbox:                      {public}/inbox/")
            out(f"  API documentation:                  {public}/schema")
            out(f"  Health:                             {public}/healthz  {public}/readyz")
            out(f"  Demo staff accounts (password {DEMO_PASSWORD}), sign in at {public}/login:")
            for scope, email, role in staff_accounts:
                out(f"    {role:9} {scope if scope != '_vendor' else 'nhà cung cấp':12} {email}")
            out("Press Ctrl-C to stop.")
            waiter = asyncio.create_task(stop.wait())
            await asyncio.wait({waiter, server._motcua_task}, return_when=asyncio.FIRST_COMPLETED)
            out("stopping…")
            await stop_server(server)
            worker.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(worker_task, 10)
    finally:
        await rt.close()
        out("stopped (database too)")
    return 0
