"""Declarative records -> canonical ones, by the paths and status table of the tenant file."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import msgspec

from motcua.onestop.records import Agency, Dossier, FormField, Paper, Procedure, Quarantined, RawStatus, Status
from motcua_declarative.wire import DeclarativeFields, DeclarativeProcedureFields, get_path

VN = timezone(timedelta(hours=7))
TRUE_WORDS = {"true", "1", "yes", "online", "truc_tuyen", "trực tuyến"}


def parse_time(value: Any, date_format: str) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a date")
    if date_format == "iso":
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    else:
        parsed = datetime.strptime(value, date_format)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=VN)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def truthy(value: Any) -> bool:
    return str(value).strip().lower() in TRUE_WORDS if value is not None else False


def to_dossier(record: Any, f: DeclarativeFields, map_status: Callable[[str], Status], date_format: str) -> Dossier:
    if not isinstance(record, dict):
        raise ValueError("a record must be a JSON object")
    code, raw = get_path(record, f.code), get_path(record, f.status)
    if not code:
        raise ValueError(f"no dossier code at '{f.code}'")
    if raw in (None, ""):
        raise ValueError(f"no status at '{f.status}'")
    g = lambda path: get_path(record, path)  # noqa: E731
    when = lambda path: parse_time(g(path), date_format)  # noqa: E731
    papers = g(f.missing_papers)
    agency_code = _text(g(f.agency_code))
    return Dossier(
        code=str(code).strip(), status=map_status(str(raw)), raw_status=RawStatus(code=str(raw), label=_text(g(f.status_label))),
        procedure_code=_text(g(f.procedure_code)), procedure_name=_text(g(f.procedure_name)),
        agency=Agency(code=agency_code, name=_text(g(f.agency_name)) or "") if agency_code else None,
        handler=_text(g(f.handler)), applicant_name=_text(g(f.applicant_name)),
        applicant_phone=_text(g(f.applicant_phone)), applicant_id_number=_text(g(f.applicant_id_number)),
        submitted_at=when(f.submitted_at), received_at=when(f.received_at), due_at=when(f.due_at),
        finished_at=when(f.finished_at), returned_at=when(f.returned_at), updated_at=when(f.updated_at),
        online=truthy(g(f.online)), missing_papers=[str(p) for p in papers] if isinstance(papers, list) else [],
        note=_text(g(f.note)))


def map_records(records: list[Any], f: DeclarativeFields, map_status, date_format: str):
    dossiers: list[Dossier] = []
    quarantined: list[Quarantined] = []
    for record in records:
        try:
            dossiers.append(to_dossier(record, f, map_status, date_format))
        except (ValueError, TypeError) as exc:
            code = get_path(record, f.code) if isinstance(record, dict) else None
            quarantined.append(Quarantined(reason=str(exc), raw=msgspec.json.encode(record).decode(),
                                           code=_text(code)))
    return dossiers, quarantined


def to_procedure(record: Any, f: DeclarativeProcedureFields) -> Procedure:
    g = lambda path, node=record: get_path(node, path)  # noqa: E731
    if not g(f.code) or not g(f.name):
        raise ValueError("a procedure needs a code and a name")
    days = g(f.processing_days)
    papers = g(f.papers) if isinstance(g(f.papers), list) else []
    form = g(f.form) if isinstance(g(f.form), list) else []
    agency_code = _text(g(f.agency_code))
    return Procedure(
        code=str(g(f.code)), name=str(g(f.name)), sector=_text(g(f.sector)),
        agency=Agency(code=agency_code, name=_text(g(f.agency_name)) or "") if agency_code else None,
        processing_days=float(days) if days not in (None, "") else None, fee=_text(g(f.fee)), online=truthy(g(f.online)),
        papers=[Paper(code=str(g(f.paper_code, p) or i + 1), name=str(g(f.paper_name, p) or "")) for i, p in enumerate(papers)],
        form=[FormField(name=str(g(f.form_name, x)), label=str(g(f.form_label, x) or g(f.form_name, x)),
                        type=str(g(f.form_type, x) or "text")) for x in form])
