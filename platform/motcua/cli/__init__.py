"""The ``motcua`` command. Each sub-command lives in its own function; ``main`` dispatches."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from motcua.settings import Settings


def _settings(**overrides: object) -> Settings:
    return Settings.from_env(**overrides)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="motcua", description="Dịch vụ công của tỉnh trên Zalo — Motcua")
    sub = p.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="everything in one process on an embedded database")
    demo.add_argument("--port", type=int, default=int(os.environ.get("MOTCUA_PORT", 8000)))
    demo.add_argument("--host", default="127.0.0.1")

    serve = sub.add_parser("serve", help="the web process")
    serve.add_argument("--port", type=int, default=int(os.environ.get("MOTCUA_PORT", 8000)))
    serve.add_argument("--host", default=os.environ.get("MOTCUA_HOST", "0.0.0.0"))
    serve.add_argument("--migrate", action="store_true", help="migrate the schema before serving")

    worker = sub.add_parser("worker", help="the job worker process")
    worker.add_argument("--concurrency", type=int, default=8)
    worker.add_argument("--migrate", action="store_true")

    sub.add_parser("migrate", help="apply schema migrations")

    tenants = sub.add_parser("tenants", help="validate, apply and list tenant files")
    tsub = tenants.add_subparsers(dest="action", required=True)
    for name in ("validate", "apply", "list"):
        t = tsub.add_parser(name)
        t.add_argument("dir", nargs="?", type=Path, default=None)
    schema = tsub.add_parser("schema", help="print the tenant file's JSON Schema")
    schema.add_argument("--output", type=Path, default=None)

    adapters = sub.add_parser("adapters", help="installed adapter families")
    asub = adapters.add_subparsers(dest="action", required=True)
    asub.add_parser("list")
    new = asub.add_parser("new", help="render a new adapter distribution from the template")
    new.add_argument("name")
    new.add_argument("--dir", type=Path, default=Path("adapters"))

    users = sub.add_parser("users", help="staff accounts (sign-in for the inbox and admin console)")
    usub = users.add_subparsers(dest="action", required=True)
    ucreate = usub.add_parser("create", help="create or update a staff account")
    ucreate.add_argument("--tenant", help="the tenant slug (omit with --operator)")
    ucreate.add_argument("--operator", action="store_true", help="a vendor operator (every tenant)")
    ucreate.add_argument("--email", required=True)
    ucreate.add_argument("--name", required=True)
    ucreate.add_argument("--role", choices=["admin", "officer", "viewer"], default="officer")
    ucreate.add_argument("--agency", action="append", default=[], help="agency code (officers; repeatable)")
    ucreate.add_argument("--specialist", action="store_true", help="may receive escalated questions")
    ucreate.add_argument("--password", help="local password (omit to sign in with OpenID Connect only; "
                                            "MOTCUA_USER_PASSWORD is read when this is not given)")

    sync = sub.add_parser("sync", help="pull changed dossiers from a tenant's one-stop system now")
    sync.add_argument("tenant")
    sync.add_argument("--since", default=None, help="backfill from this date (YYYY-MM-DD)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from motcua import logs

    logs.configure(os.environ.get("MOTCUA_LOG_LEVEL", "INFO"))
    from motcua.cli import commands

    handler = getattr(commands, f"cmd_{args.command}")
    try:
        return asyncio.run(handler(args)) or 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
