"""Push wire -> canonical records. The national portal's string statuses (onestop.md §1.5, as
Thanh Hóa maps them inbound) are the status table; ``interoperating`` and ``posting`` have no
canonical meaning and stay ``unknown``, raw value kept."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import msgspec

from motcua.onestop.records import Agency, Dossier, Quarantined, RawStatus, Status, map_each
from motcua_push.wire import PushDossier

VN = timezone(timedelta(hours=7))

STATUS_TABLE: dict[str, Status] = {
    "receiving": Status.submitted, "new": Status.received, "denied": Status.not_accepted,
    "processing": Status.processing, "waiting": Status.supplement_required, "paying": Status.awaiting_payment,
    "cancelled": Status.withdrawn, "unresolved": Status.stopped, "releasing": Status.resolved, "done": Status.returned,
}


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=VN)


def to_dossier(w: PushDossier, map_status: Callable[[str], Status]) -> Dossier:
    if not w.statusCode:
        raise ValueError("statusCode is empty")
    return Dossier(
        code=w.dossierCode.strip(), status=map_status(w.statusCode), raw_status=RawStatus(code=w.statusCode, label=w.statusName),
        procedure_code=w.procedureCode, procedure_name=w.procedureName,
        agency=Agency(code=w.agencyCode, name=w.agencyName or "") if w.agencyCode else None, handler=w.handler,
        applicant_name=w.applicantName, applicant_phone=w.applicantPhone, applicant_id_number=w.applicantIdNumber,
        submitted_at=parse_time(w.submittedAt), received_at=parse_time(w.receivedAt), due_at=parse_time(w.dueAt),
        finished_at=parse_time(w.finishedAt), returned_at=parse_time(w.returnedAt), online=w.channel == "online",
        missing_papers=list(w.missingPapers), note=w.note, updated_at=parse_time(w.updatedAt))


def decode_dossier(raw: bytes | msgspec.Raw, map_status: Callable[[str], Status]) -> Dossier:
    return to_dossier(msgspec.json.decode(raw, type=PushDossier), map_status)


def map_records(records: list[msgspec.Raw], map_status) -> tuple[list[Dossier], list[Quarantined]]:
    return map_each(records, lambda raw: decode_dossier(raw, map_status), "dossierCode")
