"""The ``declarative`` family: a generic REST/JSON adapter configured entirely in the tenant
file, so a province whose system has a JSON API needs no code. Endpoints, query parameter names,
dotted paths to each field and the status table (``[adapter.status_map]``, no default: every raw
status the system uses must be listed, the rest stay ``unknown``) are settings.

It declares what its settings make possible: lookups always, the change feed when
``changes_path`` is set, the catalogue when ``procedures_path`` is set.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import msgspec

from motcua.onestop.codes import format_code, normalize_code
from motcua.onestop.contract import Capability, Malformed, NotSupported
from motcua.onestop.http import HttpAdapter, decode_json
from motcua.onestop.records import ChangePage, Dossier, Procedure
from motcua_declarative import mapping
from motcua_declarative.wire import DeclarativeFields, DeclarativeProcedureFields, get_path


class DeclarativeSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    base_url: str
    fields: DeclarativeFields
    lookup_path: str  # e.g. "/api/ho-so/{code}"; 404 means not found
    lookup_record: str = ""  # where the record sits in the answer ("" = the whole body)
    changes_path: str | None = None
    changes_from_param: str = "from"
    changes_to_param: str = "to"
    changes_page_param: str = "page"
    changes_size_param: str = "size"
    first_page: int = 0
    changes_items: str = "items"
    changes_has_more: str = "has_more"
    changes_window_end: str = "window_end"  # the server's end of the window it answered for
    procedures_path: str | None = None
    procedures_items: str = ""
    procedure_fields: DeclarativeProcedureFields | None = None
    date_format: str = "iso"  # or a strptime pattern such as "%d/%m/%Y %H:%M:%S"
    auth_header: str | None = None  # sends the secret ``api_key`` in this header when set
    timeout_seconds: float = 10.0
    page_size: int = 50


class DeclarativeAdapter(HttpAdapter):
    family: ClassVar[str] = "declarative"
    Settings: ClassVar[type[msgspec.Struct]] = DeclarativeSettings
    capabilities: ClassVar[frozenset[Capability]] = frozenset({
        Capability.lookup_by_code, Capability.change_feed, Capability.procedures})
    settings: DeclarativeSettings

    def __init__(self, settings: Any, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        caps = {Capability.lookup_by_code}
        if settings.changes_path:
            caps.add(Capability.change_feed)
        if settings.procedures_path and settings.procedure_fields:
            caps.add(Capability.procedures)
        self.capabilities = frozenset(caps)  # type: ignore[misc] - narrowed per tenant

    async def call(self, path: str, **kwargs: Any):
        headers = {self.settings.auth_header: self.secret("api_key")} if self.settings.auth_header else {}
        return await self.send("GET", path, headers=headers, **kwargs)

    async def lookup(self, code: str) -> Dossier | None:
        response = await self.call(self.settings.lookup_path.replace("{code}", format_code(code)), ok=(404,))
        if response.status_code == 404:
            return None
        record = get_path(decode_json(response.content, Any), self.settings.lookup_record)
        if record is None:
            return None
        try:
            d = mapping.to_dossier(record, self.settings.fields, self.map_status, self.settings.date_format)
        except (ValueError, TypeError) as exc:
            raise Malformed(f"hồ sơ {code} không đọc được: {exc}") from exc
        return d if normalize_code(d.code) == normalize_code(code) else None

    async def changes(self, cursor: str | None, *, since: datetime | None = None) -> ChangePage:
        s = self.settings
        if not s.changes_path:
            raise NotSupported("change_feed")
        start, end, page = "", "", s.first_page
        if cursor and "|" in cursor:
            start, end, p = cursor.split("|")
            page = int(p)
        elif cursor:
            start = cursor
        elif since:
            start = since.isoformat() if s.date_format == "iso" else since.astimezone(mapping.VN).strftime(s.date_format)
        params: dict[str, Any] = {s.changes_page_param: page, s.changes_size_param: s.page_size}
        if start:
            params[s.changes_from_param] = start
        if end:
            params[s.changes_to_param] = end
        body = decode_json((await self.call(s.changes_path, params=params)).content, Any)
        items = get_path(body, s.changes_items)
        end = end or str(get_path(body, s.changes_window_end) or "")
        if not isinstance(items, list) or not end:
            raise Malformed(f"câu trả lời thiếu '{s.changes_items}' hoặc '{s.changes_window_end}'")
        more = mapping.truthy(get_path(body, s.changes_has_more))
        dossiers, quarantined = mapping.map_records(items, s.fields, self.map_status, s.date_format)
        return ChangePage(dossiers=dossiers, cursor=f"{start}|{end}|{page + 1}" if more else end, has_more=more,
                          quarantined=quarantined)

    async def procedures(self) -> list[Procedure]:
        s = self.settings
        if not s.procedures_path or not s.procedure_fields:
            raise NotSupported("procedures")
        items = get_path(decode_json((await self.call(s.procedures_path)).content, Any), s.procedures_items)
        if not isinstance(items, list):
            raise Malformed(f"câu trả lời thiếu danh sách thủ tục tại '{s.procedures_items}'")
        try:
            return [mapping.to_procedure(item, s.procedure_fields) for item in items]
        except (ValueError, TypeError) as exc:
            raise Malformed(f"thủ tục không đọc được: {exc}") from exc

    @classmethod
    def sandbox_app(cls, settings: DeclarativeSettings, tenant: Any):
        from motcua_declarative.sandbox import build

        return build(settings, tenant)
