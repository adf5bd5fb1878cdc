"""iGate wire -> canonical records. Statuses come from ``dossierStatus.id`` through the tenant's
table (iGate's ids differ per deployment: onestop.md §1.5); the raw id and name are kept."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import msgspec

from motcua.onestop.records import (
    Agency, ChangePage, Dossier, FormField, Paper, Procedure, Quarantined, RawStatus, Status, map_each,
)
from motcua_igate.wire import IGateDossier, IGateProcedure

VN = timezone(timedelta(hours=7))
_OFFSET = re.compile(r"([+-]\d{2})(\d{2})$")
_FORM_TYPES = {"textfield": "text", "datetime": "date", "number": "number", "phoneNumber": "phone",
               "textarea": "textarea", "select": "select"}
APPLY_ONLINE = "1"


def parse_time(value: str | None) -> datetime | None:
    """iGate writes ``2025-11-19T09:30:00.000+0700``; accept ``Z`` and ``+07:00`` too. Naive times
    are Vietnam time. Anything else is an error the caller quarantines."""
    if not value:
        return None
    text = _OFFSET.sub(r"\1:\2", value.strip().replace("Z", "+00:00"))
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=VN)


def format_time(value: datetime) -> str:
    return value.astimezone(VN).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0700"


def to_dossier(w: IGateDossier, map_status: Callable[[str], Status]) -> Dossier:
    raw = str(w.dossierStatus.id) if w.dossierStatus.id is not None else ""
    if not raw:
        raise ValueError("dossierStatus.id is missing")
    task = w.currentTask[0] if w.currentTask else None
    finished = parse_time(w.completedDate)
    return Dossier(
        code=w.code.strip(),
        status=map_status(raw),
        raw_status=RawStatus(code=raw, label=w.dossierStatus.name),
        procedure_code=w.procedure.code if w.procedure else None,
        procedure_name=w.procedure.translate.name if w.procedure else None,
        agency=Agency(code=w.agency.code, name=w.agency.name or "") if w.agency and w.agency.code else None,
        handler=task.assignee.fullname if task and task.assignee else None,
        applicant_name=w.applicant.data.fullname,
        applicant_phone=w.applicant.data.phoneNumber,
        applicant_id_number=w.applicant.data.identityNumber,
        submitted_at=parse_time(w.appliedDate),
        received_at=parse_time(w.acceptedDate),
        due_at=parse_time(w.appointmentDate),
        finished_at=finished,
        returned_at=parse_time(w.returnedDate),
        online=bool(w.applyMethod and str(w.applyMethod.id) == APPLY_ONLINE),
        missing_papers=list(w.additionalRequirement),
        note=w.comment,
        alt_codes=[w.id] if w.id else [],
        updated_at=parse_time(w.updatedDate),
    )


def map_records(records: list[msgspec.Raw], map_status: Callable[[str], Status]) -> tuple[list[Dossier], list[Quarantined]]:
    """Map each record alone: a bad one is quarantined with its reason, the rest still flow."""
    return map_each(records, lambda raw: to_dossier(msgspec.json.decode(raw, type=IGateDossier), map_status), "code")


def to_page(records: list[msgspec.Raw], map_status, cursor: str, has_more: bool) -> ChangePage:
    dossiers, quarantined = map_records(records, map_status)
    return ChangePage(dossiers=dossiers, cursor=cursor, has_more=has_more, quarantined=quarantined)


def to_procedure(w: IGateProcedure) -> Procedure:
    agency = w.agency[0] if w.agency else None
    return Procedure(
        code=w.code, name=w.translate.name or w.code, sector=w.sector.name if w.sector else None,
        agency=Agency(code=agency.code, name=agency.name or "") if agency and agency.code else None,
        level=w.level, processing_days=w.processingTime, fee=w.fee, online=w.applyOnline,
        papers=[Paper(code=c.code, name=c.name, copies=c.quantity, required=c.required) for c in w.dossierComponent],
        form=[FormField(name=c.key, label=c.label, type=_FORM_TYPES.get(c.type, "text"), required=c.required)
              for c in (w.eForm.components if w.eForm else [])],
    )
