"""The ``push`` family: a one-stop system that pushes status changes to us, HMAC-signed, and
answers lookups over REST with an API key (onestop.md §7.3 C). A nightly ``changes()`` pull
reconciles whatever a push lost.

A push carries ``X-Motcua-Timestamp`` (unix seconds) and ``X-Motcua-Signature:
sha256=<hex HMAC-SHA256(hmac_secret, f"{timestamp}.{raw body}")>``; pushes older or newer than
the replay window are refused, and the comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

import msgspec

from motcua.onestop.codes import format_code
from motcua.onestop.contract import Capability, Malformed, Rejected
from motcua.onestop.http import HttpAdapter, decode_json
from motcua.onestop.records import ChangePage, Dossier, Evaluation, PushedChange, Receipt, Status, Submission
from motcua_push import mapping, wire

SIGNATURE_HEADER = "x-motcua-signature"
TIMESTAMP_HEADER = "x-motcua-timestamp"


class PushSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    base_url: str
    timeout_seconds: float = 10.0
    page_size: int = 50
    replay_window_seconds: int = 300
    api_key_header: str = "X-API-Key"


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The signature header's value for a body sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


class PushAdapter(HttpAdapter):
    family: ClassVar[str] = "push"
    Settings: ClassVar[type[msgspec.Struct]] = PushSettings
    capabilities: ClassVar[frozenset[Capability]] = frozenset({
        Capability.lookup_by_code, Capability.push_events, Capability.change_feed, Capability.submission,
        Capability.evaluation,
    })
    default_status_map: ClassVar[Mapping[str, Status]] = mapping.STATUS_TABLE
    settings: PushSettings

    async def call(self, method: str, path: str, **kwargs: Any):
        headers = {self.settings.api_key_header: self.secret("api_key"), **kwargs.pop("headers", {})}
        return await self.send(method, path, headers=headers, **kwargs)

    async def lookup(self, code: str) -> Dossier | None:
        response = await self.call("GET", f"/api/v1/dossiers/{format_code(code)}", ok=(404,))
        if response.status_code == 404:
            return None
        try:
            return mapping.decode_dossier(response.content, self.map_status)
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as exc:
            raise Malformed(f"hồ sơ {code} không đọc được: {exc}") from exc

    async def changes(self, cursor: str | None, *, since: datetime | None = None) -> ChangePage:
        """Cursor: the ISO end of the last window, or ``from|to|page`` mid-window."""
        start, end, page = "", "", 0
        if cursor and "|" in cursor:
            start, end, p = cursor.split("|")
            page = int(p)
        elif cursor:
            start = cursor
        elif since:
            start = since.isoformat()
        params = {"page": page, "size": self.settings.page_size}
        params.update({k: v for k, v in (("from", start), ("to", end)) if v})
        response = await self.call("GET", "/api/v1/dossiers/changes", params=params)
        body = decode_json(response.content, wire.PushChanges)
        end = end or body.windowEnd or ""
        if not end:
            raise Malformed("câu trả lời thiếu windowEnd")
        dossiers, quarantined = mapping.map_records(body.items, self.map_status)
        next_cursor = f"{start}|{end}|{page + 1}" if body.hasMore else end
        return ChangePage(dossiers=dossiers, cursor=next_cursor, has_more=body.hasMore, quarantined=quarantined)

    async def parse_push(self, body: bytes, headers: Mapping[str, str]) -> list[PushedChange]:
        lower = {k.lower(): v for k, v in headers.items()}
        timestamp, signature = lower.get(TIMESTAMP_HEADER, ""), lower.get(SIGNATURE_HEADER, "")
        if not timestamp or not signature:
            raise Rejected("thiếu chữ ký hoặc thời điểm gửi")
        try:
            sent = int(timestamp)
        except ValueError:
            raise Rejected("thời điểm gửi không hợp lệ") from None
        if abs(time.time() - sent) > self.settings.replay_window_seconds:
            raise Rejected("sự kiện quá cũ hoặc gửi lại (ngoài cửa sổ 5 phút)")
        if not hmac.compare_digest(sign(self.secret("hmac_secret"), timestamp, body).encode(), signature.strip().encode()):
            raise Rejected("chữ ký không đúng")
        events = decode_json(body, wire.PushEventBatch).events
        if events is None:
            events = [decode_json(body, wire.PushEvent)]
        if not events:
            raise Malformed("sự kiện không có nội dung")
        out = []
        for event in events:
            try:
                out.append(PushedChange(event_id=event.eventId, dossier=mapping.decode_dossier(event.dossier, self.map_status)))
            except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as exc:
                raise Malformed(f"sự kiện {event.eventId} không đọc được: {exc}") from exc
        return out

    async def submit(self, submission: Submission) -> Receipt:
        response = await self.call("POST", "/api/v1/dossiers", headers={"Idempotency-Key": submission.idempotency_key},
                                   json={"procedureCode": submission.procedure_code,
                                         "applicantName": submission.applicant_name,
                                         "applicantPhone": submission.applicant_phone,
                                         "applicantIdNumber": submission.applicant_id_number,
                                         "fields": submission.fields,
                                         "attachments": [{"paperCode": a.paper_code, "filename": a.filename,
                                                          "contentType": a.content_type, "size": len(a.data)}
                                                         for a in submission.attachments]})
        receipt = decode_json(response.content, wire.PushReceipt)
        return Receipt(code=receipt.dossierCode, status=self.map_status(receipt.statusCode or "receiving"),
                       received_at=mapping.parse_time(receipt.receivedAt), due_at=mapping.parse_time(receipt.dueAt))

    async def rate(self, evaluation: Evaluation) -> None:
        if evaluation.overall not in (1, 2, 3):
            raise Rejected("mức đánh giá phải là 1, 2 hoặc 3")
        await self.call("POST", f"/api/v1/dossiers/{format_code(evaluation.dossier_code)}/ratings",
                        json={"overall": evaluation.overall, "criteria": evaluation.criteria,
                              "comment": evaluation.comment,
                              "ratedAt": evaluation.rated_at.isoformat() if evaluation.rated_at else None})

    @classmethod
    def sandbox_app(cls, settings: PushSettings, tenant: Any):
        from motcua_push.sandbox import build

        return build(settings, tenant)
