"""Helpers for the Zalo channel's tests: events signed exactly as Zalo signs them, with the
tenant's OA secret key (the value the operator put in the environment), posted over HTTP."""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from motcua.tenancy.schema import Tenant
from motcua.worker import Worker

from .test_wire import zalo_mac


def new_user_id() -> str:
    return str(10**18 + secrets.randbelow(9 * 10**18))


@dataclass
class ZaloOA:
    tenant: Tenant

    @property
    def slug(self) -> str:
        return self.tenant.slug

    @property
    def oa_id(self) -> str:
        return self.tenant.file.zalo.oa_id

    @property
    def app_id(self) -> str:
        return self.tenant.file.zalo.app_id

    @property
    def secret_key(self) -> str:
        return os.environ[self.tenant.file.zalo.secret_key_env]

    @property
    def app_secret(self) -> str:
        return os.environ[self.tenant.file.zalo.app_secret_env]

    def event(self, event_name: str, user_id: str, *, text: str | None = None, msg_id: str | None = None,
              ts: int | None = None, **extra: Any) -> dict[str, Any]:
        """A user → OA event in Zalo's envelope."""
        ev: dict[str, Any] = {"app_id": self.app_id, "sender": {"id": user_id}, "user_id_by_app": "app-" + user_id,
                              "recipient": {"id": self.oa_id}, "event_name": event_name,
                              "timestamp": str(ts or int(time.time() * 1000))}
        if event_name.startswith("user_send_"):
            ev["message"] = {"msg_id": msg_id or secrets.token_hex(16), **({"text": text} if text is not None else {})}
        ev.update(extra)
        return ev

    def follow(self, user_id: str, name: str = "follow") -> dict[str, Any]:
        return {"oa_id": self.oa_id, "follower": {"id": user_id}, "user_id_by_app": "app-" + user_id,
                "event_name": name, "app_id": self.app_id, "source": "oa_profile",
                "timestamp": str(int(time.time() * 1000))}

    def signed(self, event: dict[str, Any], *, key: str | None = None) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        mac = zalo_mac(self.app_id, body, event["timestamp"], key or self.secret_key)
        return body, {"Content-Type": "application/json", "X-ZEvent-Signature": f"mac={mac}"}

    async def post(self, http: httpx.AsyncClient, event: dict[str, Any], *, path: str | None = None,
                   headers: dict[str, str] | None = None) -> httpx.Response:
        body, signed_headers = self.signed(event)
        return await http.post(path or f"/zalo/{self.slug}/webhook", content=body,
                               headers={**signed_headers, **(headers or {})})


@pytest.fixture
def ca_mau(tenants) -> ZaloOA:
    return ZaloOA(tenants["ca-mau"])


@pytest.fixture
def an_giang(tenants) -> ZaloOA:
    return ZaloOA(tenants["an-giang"])


@pytest.fixture
def worker(runtime) -> Worker:
    return Worker(runtime, concurrency=8)
