"""Book and read appointments. The phone number is personal data: sealed, shown only to its owner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from motcua.crypto import normalize_phone


class AppointmentError(ValueError):
    """Bad input; the message is Vietnamese and safe to show."""


@dataclass
class Appointment:
    service_date: date
    number: int
    current_number: int
    full_name: str
    phone: str
    content: str
    status: str
    rejected_info: str | None


def check(service_date: date, full_name: str, phone: str, content: str, *, today: date) -> tuple[str, str, str]:
    name = " ".join((full_name or "").split())
    text = (content or "").strip()
    digits = normalize_phone(phone or "")
    if not name or len(name) > 100:
        raise AppointmentError("Xin ông/bà nhập họ và tên (tối đa 100 ký tự).")
    if not text or len(text) > 500:
        raise AppointmentError("Xin ông/bà ghi nội dung cần giải quyết (tối đa 500 ký tự).")
    if not (digits.startswith("84") and len(digits) == 11):
        raise AppointmentError("Số điện thoại chưa đúng, ví dụ 0912 345 678.")
    if service_date < today:
        raise AppointmentError("Ngày hẹn đã qua, xin chọn ngày khác.")
    if (service_date - today).days > 60:
        raise AppointmentError("Chỉ đặt lịch trong vòng 60 ngày tới.")
    if service_date.weekday() == 6:
        raise AppointmentError("Bộ phận một cửa không làm việc Chủ nhật, xin chọn ngày khác.")
    return name, digits, text


async def book(conn: asyncpg.Connection, crypto: Any, tenant_id: str, zalo_id: str, *, service_date: date,
               full_name: str, phone: str, content: str, tz: str) -> tuple[Appointment, bool]:
    """Book a number for ``service_date``; a second booking the same day returns the first.
    Returns (appointment, newly booked)."""
    today = datetime.now(ZoneInfo(tz)).date()
    name, digits, text = check(service_date, full_name, phone, content, today=today)
    mine = await _mine_on(conn, crypto, tenant_id, zalo_id, service_date)
    if mine:
        return mine, False
    # The counter row is the lock: concurrent bookings get consecutive numbers, never the same.
    number = await conn.fetchval(
        """INSERT INTO appointment_day (tenant_id, service_date, last_number) VALUES ($1, $2, 1)
           ON CONFLICT (tenant_id, service_date) DO UPDATE SET last_number = appointment_day.last_number + 1
           RETURNING last_number""", tenant_id, service_date)
    inserted = await conn.fetchval(
        """INSERT INTO appointment (tenant_id, service_date, number, zalo_id, full_name, phone_enc, content)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, service_date, zalo_id) DO NOTHING RETURNING id""",
        tenant_id, service_date, number, zalo_id, name, crypto.seal(tenant_id, "appointment.phone", digits), text)
    if inserted is None:  # the same user booked concurrently: theirs stands
        return await _mine_on(conn, crypto, tenant_id, zalo_id, service_date), False
    return await _mine_on(conn, crypto, tenant_id, zalo_id, service_date), True


async def _mine_on(conn, crypto, tenant_id: str, zalo_id: str, service_date: date | None) -> Appointment | None:
    row = await conn.fetchrow(
        """SELECT a.service_date, a.number, a.full_name, a.phone_enc, a.content, a.status, a.rejected_info,
                  d.current_number
           FROM appointment a JOIN appointment_day d ON d.tenant_id = a.tenant_id AND d.service_date = a.service_date
           WHERE a.tenant_id = $1 AND a.zalo_id = $2 AND ($3::date IS NULL OR a.service_date = $3)
           ORDER BY a.service_date DESC LIMIT 1""", tenant_id, zalo_id, service_date)
    if row is None:
        return None
    phone = crypto.open(tenant_id, "appointment.phone", row["phone_enc"])
    return Appointment(row["service_date"], row["number"], row["current_number"], row["full_name"], phone,
                       row["content"], row["status"], row["rejected_info"])


async def upcoming(conn: asyncpg.Connection, crypto: Any, tenant_id: str, zalo_id: str, *, tz: str) -> Appointment | None:
    """The user's next (or today's) appointment."""
    today = datetime.now(ZoneInfo(tz)).date()
    row = await conn.fetchval(
        """SELECT service_date FROM appointment WHERE tenant_id = $1 AND zalo_id = $2 AND service_date >= $3
           ORDER BY service_date LIMIT 1""", tenant_id, zalo_id, today)
    return await _mine_on(conn, crypto, tenant_id, zalo_id, row) if row else None
