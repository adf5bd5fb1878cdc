"""Tenant files: validation names every problem, apply is idempotent and says what changed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from motcua.cli import main as motcua
from motcua.db.database import connect
from motcua.tenancy.apply import apply_all
from motcua.tenancy.loader import load_dir
from motcua.tenancy.schema import json_schema

ROOT = Path(__file__).resolve().parents[2]

GOOD = """
name = "Thành phố Cần Thơ"
stat_code = "92"
agency_code = "H13"

[adapter]
family = "igate"
secrets = { client_secret_env = "CAN_THO_IGATE_SECRET" }
settings = { base_url = "http://127.0.0.1:1", token_url = "http://127.0.0.1:1/token", client_id = "x", agency_id = "H13" }

[[agencies]]
code = "000.00.07.H13"
name = "Sở Tư pháp thành phố Cần Thơ"

[[agencies]]
code = "000.20.01.H13"
kind = "commune"
ward_code = "31135"
"""


def write(tmp: Path, name: str, text: str) -> Path:
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / name).write_text(text, encoding="utf-8")
    return tmp


def test_the_repository_tenant_files_are_valid(plugins):
    loaded = load_dir(ROOT / "tenants", plugins.adapters)
    assert [str(p) for p in loaded.problems] == []
    assert {t.slug for t in loaded.tenants} >= {"ca-mau", "an-giang", "dong-nai"}
    by = {t.slug: t.file for t in loaded.tenants}
    assert (by["ca-mau"].stat_code, by["ca-mau"].agency_code) == ("96", "H12")
    assert (by["an-giang"].stat_code, by["dong-nai"].stat_code, by["dong-nai"].agency_code) == ("91", "75", "H19")


def test_three_mistakes_are_all_named_with_file_and_key(tmp_path, capsys):
    bad = (GOOD.replace('name = "Sở Tư pháp thành phố Cần Thơ"', 'nmae = "Sở Tư pháp thành phố Cần Thơ"')
           .replace('ward_code = "31135"', 'ward_code = "26068"')) + "\n[sla]\nquestion_hours = -1\n"
    write(tmp_path, "can-tho.toml", bad)
    code = motcua(["tenants", "validate", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1
    assert "can-tho.toml: agencies[0].nmae: unknown key (did you mean 'name'?)" in out
    assert "can-tho.toml: agencies[1].ward_code: '26068' is not a commune of Thành phố Cần Thơ" in out
    assert "can-tho.toml: sla.question_hours: expected `float` > 0" in out
    assert "3 problem(s); nothing was changed" in out


def test_every_structural_mistake_is_reported_at_once(tmp_path):
    bad = GOOD.replace('stat_code = "92"', 'stat_code = 92').replace('agency_code = "H13"', 'agency_code = "13"')
    bad += '\n[features]\nratings = "yes"\n'
    loaded = load_dir(write(tmp_path, "can-tho.toml", bad))
    keys = sorted(p.key for p in loaded.problems)
    assert keys == ["agency_code", "features.ratings", "stat_code"]
    assert loaded.tenants == []


def test_a_secret_written_in_the_file_is_refused(tmp_path):
    bad = GOOD.replace('client_secret_env = "CAN_THO_IGATE_SECRET"', 'client_secret = "hunter2"')
    problems = load_dir(write(tmp_path, "can-tho.toml", bad)).problems
    assert [(p.key, "_env" in p.message) for p in problems] == [("adapter.secrets.client_secret", True)]


def test_broken_toml_and_bad_slug_are_explained(tmp_path):
    write(tmp_path, "Can Tho.toml", GOOD)
    write(tmp_path, "x.toml", "name = ")
    problems = {p.file: p.message for p in load_dir(tmp_path).problems}
    assert "lower-case ASCII slug" in problems["Can Tho.toml"]
    assert problems["x.toml"].startswith("is not valid TOML")


def test_the_json_schema_for_editors_is_current():
    committed = json.loads((ROOT / "tenants" / "tenant.schema.json").read_text(encoding="utf-8"))
    assert committed == json.loads(json.dumps(json_schema())), "run: motcua tenants schema --output tenants/tenant.schema.json"


async def test_apply_is_idempotent_and_reports_changes(database, crypto, tmp_path):
    write(tmp_path, "can-tho-apply.toml", GOOD)
    loaded = load_dir(tmp_path)
    conn = await connect(database.owner_url)
    try:
        env = {"CAN_THO_IGATE_SECRET": "s3cret"}
        first = await apply_all(conn, crypto, loaded.tenants, environ=env)
        second = await apply_all(conn, crypto, loaded.tenants, environ=env)
        write(tmp_path, "can-tho-apply.toml", GOOD.replace("Sở Tư pháp thành phố Cần Thơ", "Sở Tư pháp TP Cần Thơ"))
        third = await apply_all(conn, crypto, load_dir(tmp_path).tenants, environ={})  # secret now unset
        names = dict(await conn.fetch("SELECT code, name FROM agency WHERE active AND tenant_id = 'can-tho-apply'"))
        jobs = await conn.fetchval("SELECT count(*) FROM job WHERE kind = 'tenants.applied' AND tenant_id = 'can-tho-apply'")
    finally:
        await conn.close()
    assert first["can-tho-apply"] == ["created", "agencies +2 ~0 -0", "secret adapter.client_secret stored"]
    assert second["can-tho-apply"] == []
    assert third["can-tho-apply"] == ["settings changed", "agencies +0 ~1 -0", "warning: secret adapter.client_secret "
                                      "(environment variable CAN_THO_IGATE_SECRET is not set)"]
    assert names == {"000.00.07.H13": "Sở Tư pháp TP Cần Thơ", "000.20.01.H13": "UBND Phường Ninh Kiều"}
    assert jobs == 2  # one per real change, none for the no-op
