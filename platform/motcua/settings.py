"""Settings, read from ``MOTCUA_*`` environment variables once, by ``Settings.from_env()``."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec


class ZaloSettings(msgspec.Struct, kw_only=True, frozen=True):
    """Zalo's base URLs: production points at Zalo, demo and tests at the simulator."""

    openapi_url: str = "https://openapi.zalo.me"
    oauth_url: str = "https://oauth.zaloapp.com"
    business_url: str = "https://business.openapi.zalo.me"
    graph_url: str = "https://graph.zalo.me"


class Settings(msgspec.Struct, kw_only=True, frozen=True):
    database_url: str | None = None  # owner URL (migrations, tenant apply); None = embedded
    app_database_url: str | None = None  # the non-owner application role; derived if unset
    app_role: str = "motcua_app"
    app_password: str | None = None
    data_dir: Path = Path(".motcua")
    tenants_dir: Path = Path("tenants")
    master_key: str | None = None  # base64 or hex, 32 bytes; generated in demo mode
    public_url: str = "http://127.0.0.1:8000"  # how citizens reach us (status page links)
    demo: bool = False
    enable_simulator: bool = False
    migrate_on_start: bool = False
    log_level: str = "INFO"
    pool_size: int = 10
    zalo: ZaloSettings = ZaloSettings()

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: object) -> Settings:
        env = dict(os.environ if env is None else env)

        def flag(name: str) -> bool:
            return env.get(name, "").strip().lower() in {"1", "true", "yes", "on"}

        values: dict[str, object] = {
            "database_url": env.get("MOTCUA_DATABASE_URL") or None,
            "app_database_url": env.get("MOTCUA_APP_DATABASE_URL") or None,
            "app_role": env.get("MOTCUA_APP_ROLE", "motcua_app"),
            "app_password": env.get("MOTCUA_APP_PASSWORD") or None,
            "data_dir": Path(env.get("MOTCUA_DATA_DIR", ".motcua")),
            "tenants_dir": Path(env.get("MOTCUA_TENANTS_DIR", "tenants")),
            "master_key": env.get("MOTCUA_MASTER_KEY") or None,
            "public_url": env.get("MOTCUA_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
            "enable_simulator": flag("MOTCUA_ENABLE_SIMULATOR"),
            "migrate_on_start": flag("MOTCUA_MIGRATE_ON_START"),
            "log_level": env.get("MOTCUA_LOG_LEVEL", "INFO"),
            "zalo": ZaloSettings(
                openapi_url=env.get("MOTCUA_ZALO_OPENAPI_URL", ZaloSettings.openapi_url),
                oauth_url=env.get("MOTCUA_ZALO_OAUTH_URL", ZaloSettings.oauth_url),
                business_url=env.get("MOTCUA_ZALO_BUSINESS_URL", ZaloSettings.business_url),
                graph_url=env.get("MOTCUA_ZALO_GRAPH_URL", ZaloSettings.graph_url),
            ),
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    def replace(self, **changes: object) -> Settings:
        return msgspec.structs.replace(self, **changes)
