"""Session fixtures: one real PostgreSQL database (embedded, or on MOTCUA_DATABASE_URL's server),
migrated by the real migrations and reached as the non-owner application role; the web app on a
real port (with the Zalo simulator at /sim); the demo tenant files applied, each pointing at its
own sandbox one-stop system on a free port."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from motcua.crypto import Crypto, parse_master_key
from motcua.db.database import connect
from motcua.plugins import Plugins
from motcua.runtime import Runtime
from motcua.settings import Settings, ZaloSettings
from motcua.tenancy.schema import Tenant
from motcua.testing.database import TestDatabase

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
async def database():
    db = await TestDatabase.create()
    yield db
    await db.drop()


@pytest.fixture(scope="session")
def master_key() -> str:
    return secrets.token_hex(32)


@pytest.fixture(scope="session")
def crypto(master_key) -> Crypto:
    return Crypto(parse_master_key(master_key))


@pytest.fixture(scope="session")
def plugins() -> Plugins:
    return Plugins()


@pytest.fixture(scope="session")
def base_url() -> str:
    """Where the app under test listens (chosen before it starts, so links and the simulator agree)."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture(scope="session")
def settings(database, master_key, base_url, tmp_path_factory) -> Settings:
    sim = f"{base_url}/sim"
    return Settings.from_env(
        {}, database_url=database.owner_url, app_database_url=database.app_url, master_key=master_key,
        data_dir=tmp_path_factory.mktemp("data"), tenants_dir=ROOT / "tenants", public_url=base_url,
        enable_simulator=True, zalo=ZaloSettings(openapi_url=sim, oauth_url=sim, business_url=sim, graph_url=sim))


@pytest.fixture(scope="session")
async def runtime(settings, plugins):
    rt = await Runtime.start(settings, plugins=plugins, migrate_db=False)
    yield rt
    await rt.close()


@pytest.fixture(scope="session")
async def server(runtime, base_url):
    """The web app on a real port: tests talk to it over HTTP like Zalo and browsers do."""
    from motcua.app import create_app
    from motcua.onestop.sandbox import serve_app, stop_server

    port = int(base_url.rsplit(":", 1)[1])
    srv = await serve_app(create_app(runtime=runtime), "127.0.0.1", port)
    yield base_url
    await stop_server(srv)


@pytest.fixture
async def http(server):
    async with httpx.AsyncClient(base_url=server, timeout=10) as client:
        yield client


@pytest.fixture
async def owner_conn(database):
    conn = await connect(database.owner_url)
    yield conn
    await conn.close()


@pytest.fixture(scope="session")
def tenants_dir(tmp_path_factory) -> Path:
    """The repository's tenant files, each sandbox moved to a free port."""
    out = tmp_path_factory.mktemp("tenants")
    ports: dict[str, str] = {}
    for path in sorted((ROOT / "tenants").glob("*.toml")):
        text = path.read_text(encoding="utf-8")
        text = re.sub(r"127\.0\.0\.1:(\d+)", lambda m: "127.0.0.1:" + ports.setdefault(m.group(1), str(free_port())), text)
        (out / path.name).write_text(text, encoding="utf-8")
    return out


@pytest.fixture(scope="session")
def tenant_secrets(tenants_dir, plugins) -> dict[str, str]:
    """Values for every secret the tenant files name, set in the environment as an operator would."""
    from motcua.tenancy.loader import load_dir, secret_env

    loaded = load_dir(tenants_dir, plugins.adapters)
    names = sorted({env for t in loaded.tenants for env in secret_env(t).values()})
    values = {name: secrets.token_urlsafe(24) for name in names}
    os.environ.update(values)
    return values


@dataclass
class AppliedTenants:
    by_slug: dict[str, Tenant]
    sandbox_urls: dict[str, str]  # tenant slug -> base URL of its running sandbox

    def __getitem__(self, slug: str) -> Tenant:
        return self.by_slug[slug]


@pytest.fixture(scope="session")
async def tenants(database, runtime, tenants_dir, tenant_secrets) -> AppliedTenants:
    """The demo provinces applied as ``motcua tenants apply`` would, with their sandboxes running."""
    from motcua.onestop.sandbox import sandboxes
    from motcua.tenancy.apply import apply_all
    from motcua.tenancy.loader import load_dir

    loaded = load_dir(tenants_dir, runtime.plugins.adapters)
    assert not loaded.problems, [str(p) for p in loaded.problems]
    conn = await connect(database.owner_url)
    try:
        await apply_all(conn, runtime.crypto, loaded.tenants)
    finally:
        await conn.close()
    async with sandboxes(loaded.tenants, runtime.plugins.adapters) as urls:
        yield AppliedTenants({t.slug: t for t in loaded.tenants}, urls)


# ---- every log line of the session, for tests/zz_logs (no personal data in logs) ------------

LOG_FILE_ENV = "MOTCUA_TEST_LOG_FILE"  # subprocess tests (faults) append their servers' logs here


@pytest.fixture(scope="session")
def session_log(tmp_path_factory) -> Path:
    """Every log record of the session, formatted exactly as production writes it."""
    import logging

    from motcua.logs import JsonFormatter

    path = tmp_path_factory.mktemp("logs") / "session.jsonl"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(JsonFormatter())
    handler.setLevel(logging.DEBUG)
    os.environ[LOG_FILE_ENV] = str(path)
    _session_log_handler.append(handler)
    return path


_session_log_handler: list = []


@pytest.fixture(autouse=True)
def _collect_logs(session_log):
    """Keep the session's handler on the root logger (``motcua.logs.configure`` replaces handlers)."""
    import logging

    root = logging.getLogger()
    handler = _session_log_handler[0]
    if handler not in root.handlers:
        root.addHandler(handler)
    if root.level > logging.INFO:
        root.setLevel(logging.INFO)
    yield
    handler.flush()


def pytest_collection_modifyitems(session, config, items):
    """The log scan in tests/zz_logs runs after everything else, adapters' tests included."""
    last = [i for i in items if "zz_logs" in i.nodeid.split("/")]
    if last:
        ids = {id(i) for i in last}
        items[:] = [i for i in items if id(i) not in ids] + last


# Browser tests drive Debian's chromium through Playwright (never a browser Playwright downloads).
CHROMIUM = os.environ.get("MOTCUA_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
requires_chromium = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason="chromium is not installed (apt-get install chromium) — browser tests need it"),
]


@pytest.fixture(scope="session")
async def browser():
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        await b.close()


@pytest.fixture
async def phone_page(browser):
    """A page on a cheap phone's screen, in Vietnamese."""
    context = await browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2,
                                        is_mobile=True, has_touch=True, locale="vi-VN")
    yield await context.new_page()
    await context.close()
