"""Zalo webhook events as wire Structs, shaped like Zalo's JSON (reference zalo.md §3.4–3.5).

Lenient: unknown fields are ignored, everything is optional, IDs stay strings (they overflow
53-bit integers). Who is who depends on the event: user → OA events carry the user in
``sender`` and the OA in ``recipient``; the OA's own messages (``oa_send_*``) and receipts
swap them; ``follow``/``unfollow`` carry ``follower`` and a flat ``oa_id``;
``user_click_chatnow`` is flat.
"""

from __future__ import annotations

from typing import Any

import msgspec

Id = str | int  # Zalo sends strings; tolerate a bare number and make it a string


def _s(value: Id | None) -> str | None:
    return None if value is None or value == "" else str(value)


class ZaloParty(msgspec.Struct, kw_only=True):
    id: Id | None = None
    admin_id: Id | None = None


class ZaloAttachment(msgspec.Struct, kw_only=True):
    type: str | None = None
    payload: Any = None


class ZaloMessage(msgspec.Struct, kw_only=True):
    msg_id: Id | None = None
    msg_ids: list[Id] | None = None
    text: str | None = None
    attachments: list[ZaloAttachment] | None = None
    quote_msg_id: Id | None = None
    tracking_id: str | None = None
    delivery_time: Id | None = None
    conversation_id: Id | None = None


class ZaloEvent(msgspec.Struct, kw_only=True):
    app_id: Id | None = None
    oa_id: Id | None = None
    user_id: Id | None = None
    user_id_by_app: Id | None = None
    event_name: str = ""
    timestamp: Id | None = None
    sender: ZaloParty | None = None
    recipient: ZaloParty | None = None
    follower: ZaloParty | None = None
    message: ZaloMessage | None = None
    info: dict[str, Any] | None = None
    source: str | None = None

    # --- who and what ---------------------------------------------------------------

    @property
    def is_oa_echo(self) -> bool:
        """The OA's own message (sent by our API or by an admin in the OA chat tool)."""
        return self.event_name.startswith("oa_send_")

    @property
    def is_receipt(self) -> bool:
        return self.event_name in RECEIPT_EVENTS

    @property
    def ts(self) -> str:
        return _s(self.timestamp) or ""

    @property
    def msg_id(self) -> str | None:
        return _s(self.message.msg_id) if self.message else None

    def user(self) -> str | None:
        """The OA-scoped Zalo user id this event is about (for ZNS receipts: none, it is a phone)."""
        if self.event_name in ("follow", "unfollow") and self.follower:
            return _s(self.follower.id)
        if self.is_oa_echo or self.is_receipt or self.event_name.startswith("oa_"):
            if self.message and self.message.tracking_id is not None:
                return None  # ZNS receipt: recipient is a phone number (or its hash)
            return _s(self.recipient.id) if self.recipient else None
        if self.sender and self.sender.id is not None:
            return _s(self.sender.id)
        return _s(self.user_id) or (_s(self.follower.id) if self.follower else None)

    def oa_candidates(self) -> list[str]:
        """Where the OA id may be, most specific first (routing on the shared webhook URL)."""
        out = [_s(self.oa_id)]
        if self.is_oa_echo or self.is_receipt or self.event_name.startswith("oa_"):
            out += [_s(self.sender.id) if self.sender else None, _s(self.recipient.id) if self.recipient else None]
        else:
            out += [_s(self.recipient.id) if self.recipient else None, _s(self.sender.id) if self.sender else None]
        return [x for x in out if x]

    def event_key(self) -> str:
        """What makes a redelivery a no-op: the message id scoped by the event name (an echo
        and its receipt share a msg_id), else event name + timestamp + subject."""
        if mid := self.msg_id:
            return f"{self.event_name}:{mid}"
        subject = self.user() or (_s(self.recipient.id) if self.recipient else None) or ""
        return f"{self.event_name}:{self.ts}:{subject}"


RECEIPT_EVENTS = frozenset({"user_received_message", "user_seen_message"})

_decoder = msgspec.json.Decoder(ZaloEvent)


def parse(raw: bytes) -> ZaloEvent:
    """Raises ``msgspec.DecodeError`` / ``ValidationError`` on a body that is not an event object."""
    return _decoder.decode(raw)


def convert(payload: dict[str, Any]) -> ZaloEvent:
    return msgspec.convert(payload, ZaloEvent)


def submitted_info(info: dict[str, Any] | None) -> dict[str, str]:
    """``user_submit_info.info`` in either shape seen (current ``full_address{...}`` or legacy
    flat ``address/city/district/ward``) as name, phone, address."""
    info = info or {}
    out: dict[str, str] = {}
    if name := str(info.get("name") or "").strip():
        out["name"] = name
    if phone := str(info.get("phone") or "").strip():
        out["phone"] = phone
    parts: list[str] = []
    full = info.get("full_address")
    if isinstance(full, dict):
        parts = [str(full.get(k) or "").strip() for k in ("user_address", "user_ward", "user_city")]
    elif isinstance(full, str):
        parts = [full]
    else:
        parts = [str(info.get(k) or "").strip() for k in ("address", "ward", "district", "city")]
    if address := ", ".join(p for p in parts if p):
        out["address"] = address
    return out
