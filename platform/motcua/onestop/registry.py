"""The registry adapter families are registered into at start-up (through ``motcua_register_adapters``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import msgspec

from motcua.onestop.contract import Adapter, Capability


class AdapterRegistry:
    def __init__(self) -> None:
        self._families: dict[str, type[Adapter]] = {}

    def register(self, cls: type[Adapter]) -> None:
        if not cls.family:
            raise ValueError(f"{cls.__qualname__} has no family name")
        if cls.family in self._families and self._families[cls.family] is not cls:
            raise ValueError(f"adapter family {cls.family!r} is registered twice")
        unknown = set(cls.capabilities) - set(Capability)
        if unknown:
            raise ValueError(f"{cls.family}: unknown capabilities {sorted(unknown)}")
        self._families[cls.family] = cls

    def get(self, family: str) -> type[Adapter]:
        try:
            return self._families[family]
        except KeyError:
            known = ", ".join(sorted(self._families)) or "none"
            raise LookupError(f"no adapter family {family!r} is installed (installed: {known})") from None

    def __contains__(self, family: str) -> bool:
        return family in self._families

    def __iter__(self) -> Iterator[type[Adapter]]:
        return iter(sorted(self._families.values(), key=lambda c: c.family))

    def settings_for(self, family: str, table: Mapping[str, Any]) -> msgspec.Struct:
        """Type a tenant file's ``[adapter.settings]`` table for ``family``; raises msgspec.ValidationError."""
        return msgspec.convert(dict(table), type=self.get(family).Settings, strict=False)

    def create(self, family: str, table: Mapping[str, Any], *, secrets: Mapping[str, str] | None = None,
               status_map: Mapping[str, str] | None = None) -> Adapter:
        cls = self.get(family)
        return cls(self.settings_for(family, table), secrets=secrets, status_map=status_map)
