"""Rating criteria, validation, storage and the push job."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from motcua.jobs import Retry, enqueue

EDIT_DAYS = 7

# The regulation's per-dossier levels (onestop.md §2.3): stored as records.Evaluation.overall.
LEVELS: dict[int, str] = {3: "Rất hài lòng", 2: "Hài lòng", 1: "Không hài lòng"}

# The nine indices of the one-stop evaluation sheet (0–2 points each, onestop.md §2.3), in the
# wording a citizen can answer. Each option is (points, label).
CRITERIA: list[tuple[str, str, list[tuple[int, str]]]] = [
    ("c1", "Tổng thời gian giải quyết so với quy định",
     [(2, "Sớm hơn"), (1, "Đúng hạn"), (0, "Trễ hạn")]),
    ("c2", "Thời gian xử lý của từng cơ quan so với quy định",
     [(2, "Sớm hơn"), (1, "Đúng hạn"), (0, "Trễ hạn")]),
    ("c3", "Số lần phải liên hệ để hoàn thiện hồ sơ",
     [(2, "Không lần nào"), (1, "Một lần"), (0, "Nhiều hơn một lần")]),
    ("c4", "Số cơ quan phải liên hệ",
     [(2, "Một nơi"), (1, "Hai nơi"), (0, "Nhiều hơn hai nơi")]),
    ("c5", "Giải quyết qua bộ phận một cửa",
     [(2, "Hoàn toàn"), (1, "Một phần"), (0, "Không")]),
    ("c6", "Công khai thủ tục hành chính",
     [(2, "Đầy đủ, dễ tìm"), (1, "Có nhưng khó tìm"), (0, "Không công khai")]),
    ("c7", "Thái độ của cán bộ",
     [(2, "Tận tình, chu đáo"), (1, "Bình thường"), (0, "Chưa tốt")]),
    ("c8", "Tiếp nhận, xử lý phản ánh, kiến nghị",
     [(2, "Kịp thời, thỏa đáng"), (1, "Có nhưng chậm"), (0, "Không được xử lý")]),
    ("c9", "Tiến độ, chất lượng dịch vụ trực tuyến",
     [(2, "Tốt"), (1, "Bình thường"), (0, "Chưa tốt")]),
]
CRITERIA_IDS = {c[0] for c in CRITERIA}


class RatingError(ValueError):
    """Bad input or a closed edit window; the message is Vietnamese and safe to show."""


@dataclass
class Rating:
    id: int
    dossier_id: int
    overall: int
    criteria: dict[str, int]
    comment: str | None
    created_at: datetime
    updated_at: datetime
    created: bool  # False when an earlier rating was edited


def validate(overall: Any, criteria: dict[str, Any] | None, comment: str | None) -> tuple[int, dict[str, int], str | None]:
    try:
        level = int(overall)
    except (TypeError, ValueError):
        raise RatingError("Xin ông/bà chọn mức độ hài lòng.") from None
    if level not in LEVELS:
        raise RatingError("Mức độ hài lòng không hợp lệ.")
    clean: dict[str, int] = {}
    for key, value in (criteria or {}).items():
        if value in (None, ""):
            continue
        if key not in CRITERIA_IDS:
            raise RatingError(f"Tiêu chí '{key}' không có trong phiếu đánh giá.")
        try:
            points = int(value)
        except (TypeError, ValueError):
            raise RatingError("Điểm tiêu chí không hợp lệ.") from None
        if points not in (0, 1, 2):
            raise RatingError("Điểm mỗi tiêu chí là 0, 1 hoặc 2.")
        clean[key] = points
    text = (comment or "").strip() or None
    if text and len(text) > 1000:
        raise RatingError("Góp ý xin không quá 1000 ký tự.")
    return level, clean, text


async def rate(conn: asyncpg.Connection, tenant_id: str, dossier_id: int, rater: str, *, overall: Any,
               criteria: dict[str, Any] | None = None, comment: str | None = None) -> Rating:
    """Store (or, within ``EDIT_DAYS``, update) ``rater``'s rating and enqueue its push, in the
    caller's transaction. Raises ``RatingError`` with a Vietnamese message."""
    level, clean, text = validate(overall, criteria, comment)
    status = await conn.fetchval("SELECT status FROM dossier WHERE tenant_id = $1 AND id = $2", tenant_id, dossier_id)
    if status is None:
        raise RatingError("Không tìm thấy hồ sơ.")
    if status not in ("resolved", "returned"):
        raise RatingError("Hồ sơ chưa có kết quả nên chưa thể đánh giá. Xin ông/bà quay lại khi nhận kết quả.")
    old = await conn.fetchrow(
        "SELECT id, created_at FROM evaluation WHERE tenant_id = $1 AND dossier_id = $2 AND rater = $3 FOR UPDATE",
        tenant_id, dossier_id, rater)
    if old is not None and (datetime.now(UTC) - old["created_at"]).days >= EDIT_DAYS:
        raise RatingError(f"Đánh giá chỉ sửa được trong {EDIT_DAYS} ngày. Cảm ơn ông/bà đã đánh giá.")
    row = await conn.fetchrow(
        """INSERT INTO evaluation (tenant_id, dossier_id, rater, overall, criteria, comment)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (tenant_id, dossier_id, rater) DO UPDATE
             SET overall = $4, criteria = $5, comment = $6, updated_at = now(), pushed_at = NULL
           RETURNING id, dossier_id, overall, criteria, comment, created_at, updated_at, (xmax = 0) AS created""",
        tenant_id, dossier_id, rater, level, clean, text)
    # One push per version: a job that pushed an older version does not mark this one pushed.
    await enqueue(conn, tenant_id, "ratings.push", {"evaluation_id": row["id"]},
                  dedupe_key=f"ratings.push:{row['id']}:{row['updated_at'].timestamp()}", max_attempts=12)
    return Rating(row["id"], row["dossier_id"], row["overall"], row["criteria"], row["comment"],
                  row["created_at"], row["updated_at"], row["created"])


async def find(conn: asyncpg.Connection, tenant_id: str, dossier_id: int, rater: str) -> Rating | None:
    row = await conn.fetchrow(
        """SELECT id, dossier_id, overall, criteria, comment, created_at, updated_at FROM evaluation
           WHERE tenant_id = $1 AND dossier_id = $2 AND rater = $3""", tenant_id, dossier_id, rater)
    if row is None:
        return None
    return Rating(row["id"], row["dossier_id"], row["overall"], row["criteria"], row["comment"],
                  row["created_at"], row["updated_at"], False)


def editable(rating: Rating | None) -> bool:
    return rating is None or (datetime.now(UTC) - rating.created_at).days < EDIT_DAYS


async def push_job(job, ctx) -> None:
    """``ratings.push``: send the rating to the one-stop system if its adapter declares
    ``evaluation``; otherwise it stays local (KPIs still count it). Safe to repeat: the push
    carries the whole rating, and ``pushed_at`` is set in the job's transaction."""
    from motcua.onestop.contract import Capability, NotSupported, Rejected, Unavailable
    from motcua.onestop.records import Evaluation

    conn = ctx.conn
    row = await conn.fetchrow(
        """SELECT e.id, e.overall, e.criteria, e.comment, e.updated_at, e.pushed_at, d.code
           FROM evaluation e JOIN dossier d ON d.tenant_id = e.tenant_id AND d.id = e.dossier_id
           WHERE e.tenant_id = $1 AND e.id = $2""", ctx.tenant_id, job.payload["evaluation_id"])
    if row is None or row["pushed_at"] is not None:
        return
    adapter = await ctx.runtime.adapter(ctx.tenant_id)
    if Capability.evaluation not in adapter.capabilities:
        return
    try:
        await adapter.rate(Evaluation(dossier_code=row["code"], overall=row["overall"],
                                      criteria=dict(row["criteria"] or {}), comment=row["comment"],
                                      rated_at=row["updated_at"]))
    except NotSupported:
        return
    except Unavailable as exc:
        raise Retry(f"one-stop system unavailable: {exc}", delay=30) from exc
    except Rejected:
        raise  # counted attempts, then parked with the reason for an admin to see
    await conn.execute("UPDATE evaluation SET pushed_at = now() WHERE tenant_id = $1 AND id = $2 AND updated_at = $3",
                       ctx.tenant_id, row["id"], row["updated_at"])
