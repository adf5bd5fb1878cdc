from __future__ import annotations

from typing import ClassVar, Literal

import msgspec

from motcua.onestop.contract import Capability
from motcua.onestop.http import HttpAdapter


class DvcqgSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    base_url: str
    variant: Literal["rpc", "lgsp-xml"] = "rpc"
    username: str
    unit_code: str
    sender_code: str = "MOTCUA"
    receiver_code: str = ""
    timeout_seconds: float = 10.0
    page_size: int = 50


class DvcqgAdapter(HttpAdapter):
    family: ClassVar[str] = "dvcqg"
    Settings: ClassVar[type[msgspec.Struct]] = DvcqgSettings
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
