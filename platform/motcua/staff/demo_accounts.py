"""Demo staff accounts, one per role, created (idempotently) by ``motcua demo``.

Demo only: the password is public (documented in the README); production accounts are made
with ``motcua users create`` or in the admin console, or sign in with OpenID Connect.
"""

from __future__ import annotations

from typing import Any

from motcua.domain.auth import create_operator, create_staff_user

DEMO_PASSWORD = "motcua-demo-2025"

# (scope, email, name, role, agencies, specialist)
DEMO_ACCOUNTS: list[tuple[str, str, str, str, list[str], bool]] = [
    ("_vendor", "vanhanh@motcua.example", "Vận hành Motcua", "operator", [], False),
    ("ca-mau", "quantri@ca-mau.example", "Quản trị Cà Mau", "admin", [], False),
    ("ca-mau", "canbo.tuphap@ca-mau.example", "Cán bộ Sở Tư pháp", "officer", ["000.00.07.H12"], False),
    ("ca-mau", "canbo.datdai@ca-mau.example", "Cán bộ Sở Nông nghiệp và Môi trường", "officer",
     ["000.00.13.H12", "000.00.01.H12"], False),
    ("ca-mau", "chuyenvien@ca-mau.example", "Chuyên viên pháp chế", "officer", ["000.00.07.H12"], True),
    ("ca-mau", "lanhdao@ca-mau.example", "Lãnh đạo tỉnh", "viewer", [], False),
]


async def ensure_demo_accounts(runtime: Any, tenants: set[str]) -> list[tuple[str, str, str]]:
    """Create or refresh the demo accounts; returns (scope, email, role) for printing."""
    made = []
    for scope, email, name, role, agencies, specialist in DEMO_ACCOUNTS:
        if scope == "_vendor":
            async with runtime.db.system() as conn:
                await create_operator(conn, email=email, name=name, password=DEMO_PASSWORD, update=True)
        elif scope in tenants:
            async with runtime.db.tenant(scope) as conn:
                await create_staff_user(conn, scope, email=email, name=name, role=role, agencies=agencies,
                                        password=DEMO_PASSWORD, specialist=specialist, update=True)
        else:
            continue
        made.append((scope, email, role))
    return made
