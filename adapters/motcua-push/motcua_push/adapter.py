from __future__ import annotations

from typing import ClassVar

import msgspec

from motcua.onestop.contract import Capability
from motcua.onestop.http import HttpAdapter


class PushSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    base_url: str
    timeout_seconds: float = 10.0
    page_size: int = 50
    replay_window_seconds: int = 300
    api_key_header: str = "X-API-Key"


class PushAdapter(HttpAdapter):
    family: ClassVar[str] = "push"
    Settings: ClassVar[type[msgspec.Struct]] = PushSettings
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
