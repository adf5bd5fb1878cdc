from __future__ import annotations

from typing import ClassVar

import msgspec

from motcua.onestop.contract import Capability
from motcua.onestop.http import HttpAdapter


class DeclarativeSettings(msgspec.Struct, kw_only=True):
    base_url: str


class DeclarativeAdapter(HttpAdapter):
    family: ClassVar[str] = "declarative"
    Settings: ClassVar[type[msgspec.Struct]] = DeclarativeSettings
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
