"""``motcua users create`` makes an account that can sign in."""

from __future__ import annotations

import argparse

import httpx

from .conftest import Account, sign_in


async def test_users_create_makes_an_account_that_signs_in(monkeypatch, database, master_key, server, tenants):
    from motcua.staff.cli import run_users

    monkeypatch.setenv("MOTCUA_DATABASE_URL", database.owner_url)
    monkeypatch.setenv("MOTCUA_APP_DATABASE_URL", database.app_url)
    monkeypatch.setenv("MOTCUA_MASTER_KEY", master_key)
    monkeypatch.setenv("MOTCUA_USER_PASSWORD", "Mat-khau-cli-2025")
    args = argparse.Namespace(tenant="dong-nai", operator=False, email="CLI.Admin@dong-nai.example.vn",
                              name="Quản trị Đồng Nai", role="admin", agency=[], specialist=False, password=None)
    assert await run_users(args) == 0
    bad = argparse.Namespace(**{**vars(args), "role": "officer", "agency": ["000.00.99.XXX"]})
    assert await run_users(bad) == 1  # an unknown agency is refused, nothing changes
    async with httpx.AsyncClient(base_url=server) as c:
        r = await sign_in(c, Account("dong-nai", "cli.admin@dong-nai.example.vn", "Mat-khau-cli-2025"))
        assert r.status_code == 303 and r.headers["location"] == "/admin/dong-nai/"
