"""``motcua users create``: staff accounts from the command line (first admin of a province,
vendor operators)."""

from __future__ import annotations

import os

from motcua.settings import Settings


async def run_users(args) -> int:
    from motcua.cli.commands import out
    from motcua.domain.auth import AccountError, create_operator, create_staff_user
    from motcua.runtime import Runtime

    settings = Settings.from_env()
    password = args.password or os.environ.get("MOTCUA_USER_PASSWORD") or None
    if not args.operator and not args.tenant:
        out("error: give --tenant SLUG, or --operator for a vendor operator")
        return 2
    rt = await Runtime.start(settings.replace(demo=settings.demo or settings.database_url is None
                                              and settings.app_database_url is None))
    try:
        if args.operator:
            async with rt.db.system() as conn:
                row = await create_operator(conn, email=args.email, name=args.name, password=password, update=True)
            out(f"operator {row['email']} is ready")
            return 0
        if await rt.tenant(args.tenant) is None:
            out(f"error: no applied tenant {args.tenant!r} (run `motcua tenants apply` first)")
            return 1
        async with rt.db.tenant(args.tenant) as conn:
            row = await create_staff_user(conn, args.tenant, email=args.email, name=args.name, role=args.role,
                                          agencies=args.agency, password=password, specialist=args.specialist,
                                          update=True)
            from motcua.domain import audit

            await audit.record(conn, args.tenant, "cli", "upsert", "staff_user", row["id"],
                               after={k: row[k] for k in ("email", "name", "role", "agencies", "specialist")})
        out(f"{args.tenant}: {row['role']} {row['email']} is ready")
        return 0
    except AccountError as exc:
        out(f"error: {exc}")
        return 1
    finally:
        await rt.close()
