"""Tenant scope has one door: only ``motcua.db`` opens connections or pools. Everything else
goes through ``Database.tenant`` / ``Database.system`` (or ``motcua.db.connect`` for tools)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN_CALLS = {"create_pool", "create_async_engine", "create_engine"}
FORBIDDEN_ATTRS = {("asyncpg", "connect")}


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            pool_acquire = node.func.attr == "acquire" and ast.unparse(owner).endswith("pool")
            if pool_acquire or node.func.attr in FORBIDDEN_CALLS or (
                    isinstance(owner, ast.Name) and (owner.id, node.func.attr) in FORBIDDEN_ATTRS):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node.func)}")
    return found


def test_no_connection_is_opened_outside_the_db_package():
    sources = [p for p in [*ROOT.glob("platform/motcua/**/*.py"), *ROOT.glob("adapters/*/motcua_*/**/*.py")]
               if "platform/motcua/db/" not in str(p) and "/testing/" not in str(p)]
    assert sources
    assert [v for p in sources for v in _violations(p)] == []
