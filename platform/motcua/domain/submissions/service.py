"""Online submission (nộp hồ sơ trực tuyến): drafts, photos of papers, sending, the receipt.

Life of a submission row: ``draft`` (one per citizen per procedure; reopening the link resumes
it) → ``queued`` (the citizen pressed "Gửi hồ sơ"; a safety job is enqueued in the same
transaction) → ``submitted`` (the one-stop system returned a receipt: the dossier row, its
first timeline event, a subscription and the receipt message are written in one transaction),
or ``waiting`` while the system is unavailable (the citizen is told honestly, once; the job
``submissions.send`` retries with backoff until it succeeds, never parking).

Every send passes the draft's ``idempotency_key`` to the adapter and runs under a row lock, so a
double tap, the safety job and a retry after a crash make one dossier. A refusal by the system
(``Rejected``) returns the draft to the citizen with the reason and a fresh key.

SQL is plain asyncpg inside the caller's tenant transaction; nothing here commits.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import random
import secrets
from dataclasses import dataclass, field
from typing import Any

from motcua.db.database import savepoint
from motcua.domain.files.images import MAX_BYTES, CleanImage, ImageRefused, clean_image
from motcua.domain.files.storage import get_storage, new_key
from motcua.domain.submissions import links
from motcua.domain.submissions.forms import FormDefinition
from motcua.jobs import enqueue
from motcua.onestop.codes import normalize_code
from motcua.onestop.contract import AdapterError, Capability, Rejected
from motcua.onestop.records import Attachment, Dossier, RawStatus, Receipt, Submission

log = logging.getLogger(__name__)

FIELDS_PURPOSE = "submission.fields"
SAFETY_DELAY_SECONDS = 60  # the job that finishes a send the web request could not
SUBMIT_TIMEOUT_SECONDS = 25
MAX_FILES_PER_PAPER = 8
CHAT_IMAGE_DAYS = 7
DRAFT_DAYS = 30  # an untouched draft (and its photos of ID papers) is deleted after this

WAITING_TEXT = ("Hệ thống một cửa đang gián đoạn; hồ sơ của ông/bà đã được lưu và sẽ tự động gửi khi hệ thống "
                "hoạt động lại. Chúng tôi sẽ nhắn mã hồ sơ cho ông/bà ngay khi gửi xong.")


@dataclass
class Draft:
    id: int
    citizen_id: int
    procedure_code: str
    procedure_name: str | None
    status: str
    idempotency_key: str
    values: dict[str, str] = field(default_factory=dict)
    dossier_id: int | None = None
    dossier_code: str | None = None
    due_at: dt.datetime | None = None
    last_error: str | None = None
    attempts: int = 0
    waiting_since: dt.datetime | None = None
    submitted_at: dt.datetime | None = None


@dataclass
class StoredFile:
    id: int
    paper_code: str
    storage_key: str
    content_type: str
    size: int
    width: int
    height: int
    source: str


@dataclass
class ChatImage:
    ref: str  # "<message id>:<attachment index>"
    url: str
    thumbnail: str | None
    at: dt.datetime


_COLUMNS = ("id, citizen_id, procedure_code, procedure_name, status, idempotency_key, fields_enc, dossier_id, "
            "dossier_code, due_at, last_error, attempts, waiting_since, submitted_at")


def _draft(crypto, tenant_id: str, row) -> Draft:
    values: dict[str, str] = {}
    if row["fields_enc"]:
        values = json.loads(crypto.open(tenant_id, FIELDS_PURPOSE, bytes(row["fields_enc"])))
    return Draft(id=row["id"], citizen_id=row["citizen_id"], procedure_code=row["procedure_code"],
                 procedure_name=row["procedure_name"], status=row["status"], idempotency_key=row["idempotency_key"],
                 values=values, dossier_id=row["dossier_id"], dossier_code=row["dossier_code"], due_at=row["due_at"],
                 last_error=row["last_error"], attempts=row["attempts"], waiting_since=row["waiting_since"],
                 submitted_at=row["submitted_at"])


def _seal(crypto, tenant_id: str, values: dict[str, str]) -> bytes:
    return crypto.seal(tenant_id, FIELDS_PURPOSE, json.dumps(values, ensure_ascii=False))


async def citizen_exists(conn, citizen_id: int) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM citizen WHERE tenant_id = motcua_tenant() AND id = $1 "
                                    "AND erased_at IS NULL", citizen_id))


async def open_draft(conn, crypto, tenant_id: str, citizen_id: int, defn: FormDefinition) -> Draft:
    """The citizen's unsent submission for this procedure, created (pre-filled with their Zalo
    name) if there is none."""
    code = defn.procedure_code
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM submission WHERE tenant_id = motcua_tenant() "
                              "AND citizen_id = $1 AND procedure_code = $2 AND status <> 'submitted'", citizen_id, code)
    if row is None:
        name = await conn.fetchval("SELECT display_name FROM citizen WHERE tenant_id = motcua_tenant() AND id = $1",
                                   citizen_id)
        initial = {"applicant_name": name} if name else {}
        row = await conn.fetchrow(
            f"""INSERT INTO submission (tenant_id, citizen_id, procedure_code, procedure_name, fields_enc, idempotency_key)
                VALUES (motcua_tenant(), $1, $2, $3, $4, $5)
                ON CONFLICT (tenant_id, citizen_id, procedure_code) WHERE status <> 'submitted' DO NOTHING
                RETURNING {_COLUMNS}""",
            citizen_id, code, defn.procedure_name, _seal(crypto, tenant_id, initial), _new_idempotency_key())
        if row is None:  # a concurrent request created it first
            row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM submission WHERE tenant_id = motcua_tenant() "
                                      "AND citizen_id = $1 AND procedure_code = $2 AND status <> 'submitted'",
                                      citizen_id, code)
        else:
            # Drafts are personal data (photos of ID papers): make sure abandoned ones are swept.
            await conn.execute("INSERT INTO schedule (tenant_id, kind, every) VALUES (motcua_tenant(), "
                               "'submissions.cleanup', interval '1 day') ON CONFLICT DO NOTHING")
    return _draft(crypto, tenant_id, row)


async def get_submission(conn, crypto, tenant_id: str, submission_id: int, *, lock: bool = False) -> Draft | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM submission WHERE tenant_id = motcua_tenant() AND id = $1"
                              + (" FOR UPDATE" if lock else ""), submission_id)
    return _draft(crypto, tenant_id, row) if row else None


async def last_submitted(conn, crypto, tenant_id: str, citizen_id: int, procedure_code: str) -> Draft | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM submission WHERE tenant_id = motcua_tenant() AND citizen_id = $1 "
                              "AND procedure_code = $2 AND status = 'submitted' ORDER BY submitted_at DESC LIMIT 1",
                              citizen_id, procedure_code)
    return _draft(crypto, tenant_id, row) if row else None


async def save_values(conn, crypto, tenant_id: str, draft: Draft, values: dict[str, str]) -> None:
    """Keep what the citizen typed (only while it is a draft: a sent submission is frozen)."""
    merged = {**draft.values, **values}
    await conn.execute("UPDATE submission SET fields_enc = $2, updated_at = now() WHERE tenant_id = motcua_tenant() "
                       "AND id = $1 AND status = 'draft'", draft.id, _seal(crypto, tenant_id, merged))
    draft.values = merged


def _new_idempotency_key() -> str:
    return "motcua-" + secrets.token_hex(12)


async def delete_abandoned_drafts(conn, runtime, *, days: int = DRAFT_DAYS) -> int:
    """Delete drafts untouched for ``days`` with their photos; returns how many. Sent
    submissions are kept: their photos went to the one-stop system with the dossier."""
    keys = await conn.fetch(
        """WITH gone AS (DELETE FROM submission WHERE tenant_id = motcua_tenant() AND status = 'draft'
                           AND updated_at < now() - make_interval(days => $1) RETURNING id)
           SELECT gone.id, f.storage_key FROM gone LEFT JOIN submission_file f
             ON f.tenant_id = motcua_tenant() AND f.submission_id = gone.id""", days)
    storage = get_storage(runtime)
    for row in keys:
        if row["storage_key"]:
            try:
                await storage.delete(row["storage_key"])
            except Exception as exc:  # noqa: BLE001 - the row is gone; a leftover blob is unreachable
                log.warning("could not delete stored file: %s", exc)
    return len({r["id"] for r in keys})


# --- files ----------------------------------------------------------------------------------

async def list_files(conn, submission_id: int) -> list[StoredFile]:
    rows = await conn.fetch("SELECT id, paper_code, storage_key, content_type, size, width, height, source "
                            "FROM submission_file WHERE tenant_id = motcua_tenant() AND submission_id = $1 ORDER BY id",
                            submission_id)
    return [StoredFile(**dict(r)) for r in rows]


async def get_file(conn, submission_id: int, file_id: int) -> StoredFile | None:
    row = await conn.fetchrow("SELECT id, paper_code, storage_key, content_type, size, width, height, source "
                              "FROM submission_file WHERE tenant_id = motcua_tenant() AND submission_id = $1 AND id = $2",
                              submission_id, file_id)
    return StoredFile(**dict(row)) if row else None


async def files_for_dossier(conn, dossier_id: int) -> list[StoredFile]:
    """The photos submitted with a dossier, for the officers handling it."""
    rows = await conn.fetch(
        """SELECT f.id, f.paper_code, f.storage_key, f.content_type, f.size, f.width, f.height, f.source
           FROM submission_file f JOIN submission s ON s.tenant_id = f.tenant_id AND s.id = f.submission_id
           WHERE f.tenant_id = motcua_tenant() AND s.dossier_id = $1 ORDER BY f.paper_code, f.id""", dossier_id)
    return [StoredFile(**dict(r)) for r in rows]


async def check_image(runtime, data: bytes, *, filename: str | None, content_type: str | None) -> CleanImage:
    """``clean_image`` in a worker thread, at most two at a time per process (a 40 MP decode
    takes ~150 MB: a burst of uploads must not exhaust a small pod's memory)."""
    gate = runtime.state.get("submission.image_gate")
    if gate is None:
        gate = runtime.state["submission.image_gate"] = asyncio.Semaphore(2)
    async with gate:
        return await asyncio.to_thread(clean_image, data, filename=filename, content_type=content_type)


async def add_file(conn, runtime, tenant_id: str, draft: Draft, paper_code: str, image: CleanImage, *,
                   source: str, source_ref: str | None = None) -> int:
    """Attach a checked image to one paper of a draft; the same photo twice is stored once."""
    if draft.status != "draft":
        raise ImageRefused("Hồ sơ đã được gửi nên không thể thêm ảnh.")
    count = await conn.fetchval("SELECT count(*) FROM submission_file WHERE tenant_id = motcua_tenant() "
                                "AND submission_id = $1 AND paper_code = $2", draft.id, paper_code)
    key = new_key(tenant_id, "submission", "jpg")
    # A savepoint: if the store cannot take the bytes, the row goes with them (the caller's
    # transaction carries on and tells the citizen).
    async with savepoint(conn):
        file_id = await conn.fetchval(
            """INSERT INTO submission_file (tenant_id, submission_id, paper_code, storage_key, content_type, size,
                                            width, height, sha256, source, source_ref)
               SELECT motcua_tenant(), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 WHERE $11
               ON CONFLICT (tenant_id, submission_id, paper_code, sha256) DO NOTHING RETURNING id""",
            draft.id, paper_code, key, image.content_type, len(image.data), image.width, image.height, image.sha256,
            source, source_ref, count < MAX_FILES_PER_PAPER)
        if file_id is not None:
            await get_storage(runtime).put(key, image.data, image.content_type)
            return file_id
    existing = await conn.fetchval("SELECT id FROM submission_file WHERE tenant_id = motcua_tenant() AND "
                                   "submission_id = $1 AND paper_code = $2 AND sha256 = $3",
                                   draft.id, paper_code, image.sha256)
    if existing is None:
        raise ImageRefused(f"Mỗi loại giấy tờ đính kèm tối đa {MAX_FILES_PER_PAPER} ảnh.")
    return existing


async def remove_file(conn, runtime, draft: Draft, file_id: int) -> bool:
    if draft.status != "draft":
        return False
    key = await conn.fetchval("DELETE FROM submission_file WHERE tenant_id = motcua_tenant() AND submission_id = $1 "
                              "AND id = $2 RETURNING storage_key", draft.id, file_id)
    if key:
        try:
            await get_storage(runtime).delete(key)
        except Exception as exc:  # noqa: BLE001 - an orphan blob is harmless; the row is gone
            log.warning("could not delete stored file: %s", exc)
    return bool(key)


def _image_refs(payload: Any) -> list[tuple[str, str | None]]:
    """(url, thumbnail) of each image in a stored chat message, whatever its exact shape:
    Zalo's ``message.attachments[].payload`` or our own flattened copy of it."""
    found: list[tuple[str, str | None]] = []

    def walk(node: Any, image_hint: bool) -> None:
        if isinstance(node, dict):
            hint = image_hint or node.get("type") in ("image", "gif") or node.get("kind") == "image"
            url = node.get("url") or node.get("image_url")
            if hint and isinstance(url, str) and url.startswith(("http://", "https://")):
                found.append((url, node.get("thumbnail") if isinstance(node.get("thumbnail"), str) else None))
                return
            for key, value in node.items():
                if key != "thumbnail":
                    walk(value, hint)
        elif isinstance(node, list):
            for item in node:
                walk(item, image_hint)

    walk(payload, False)
    seen: set[str] = set()
    return [r for r in found if not (r[0] in seen or seen.add(r[0]))]


async def chat_images(conn, citizen_id: int, *, days: int = CHAT_IMAGE_DAYS, limit: int = 12) -> list[ChatImage]:
    """Images the citizen sent in the OA chat lately, newest first."""
    rows = await conn.fetch(
        """SELECT id, kind, payload, created_at FROM message
           WHERE tenant_id = motcua_tenant() AND citizen_id = $1 AND direction = 'in'
             AND created_at > now() - make_interval(days => $2)
             AND (kind IN ('image', 'user_send_image') OR payload::text LIKE '%image%')
           ORDER BY created_at DESC, id DESC LIMIT 50""", citizen_id, days)
    out: list[ChatImage] = []
    for row in rows:
        for index, (url, thumb) in enumerate(_image_refs(row["payload"])):
            out.append(ChatImage(ref=f"{row['id']}:{index}", url=url, thumbnail=thumb, at=row["created_at"]))
    return out[:limit]


async def chat_image(conn, citizen_id: int, ref: str) -> ChatImage | None:
    try:
        message_id, index = (int(x) for x in ref.split(":", 1))
    except ValueError:
        return None
    row = await conn.fetchrow("SELECT id, payload, created_at FROM message WHERE tenant_id = motcua_tenant() "
                              "AND id = $1 AND citizen_id = $2 AND direction = 'in'", message_id, citizen_id)
    if row is None:
        return None
    refs = _image_refs(row["payload"])
    if not 0 <= index < len(refs):
        return None
    return ChatImage(ref=ref, url=refs[index][0], thumbnail=refs[index][1], at=row["created_at"])


async def download_image(http, url: str, *, max_bytes: int = MAX_BYTES) -> bytes:
    """Fetch a chat image from Zalo's URL, never more than ``max_bytes``."""
    try:
        async with http.stream("GET", url, timeout=20.0, follow_redirects=True) as resp:
            if resp.status_code != 200:
                raise ImageRefused("Không tải được ảnh từ Zalo (ảnh có thể đã hết hạn). "
                                   "Ông/bà vui lòng gửi lại ảnh hoặc chụp trực tiếp trong biểu mẫu.")
            declared = resp.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise ImageRefused(f"Ảnh quá lớn (tối đa {max_bytes // 1048576} MB).")
            chunks: list[bytes] = []
            size = 0
            async for chunk in resp.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise ImageRefused(f"Ảnh quá lớn (tối đa {max_bytes // 1048576} MB).")
                chunks.append(chunk)
            return b"".join(chunks)
    except ImageRefused:
        raise
    except Exception:  # noqa: BLE001 - any network failure is the same thing for the citizen
        raise ImageRefused("Không tải được ảnh từ Zalo lúc này. Ông/bà vui lòng thử lại "
                           "hoặc chụp trực tiếp trong biểu mẫu.") from None


# --- sending ----------------------------------------------------------------------------------

async def queue_submission(conn, crypto, tenant_id: str, draft: Draft, values: dict[str, str]) -> bool:
    """Freeze a valid draft and enqueue the safety job; False when it was not a draft any more
    (a double tap: the first one already queued it)."""
    done = await conn.fetchval(
        """UPDATE submission SET status = 'queued', queued_at = now(), updated_at = now(), fields_enc = $2,
                  last_error = NULL
           WHERE tenant_id = motcua_tenant() AND id = $1 AND status = 'draft' RETURNING id""",
        draft.id, _seal(crypto, tenant_id, {**draft.values, **values}))
    if done is None:
        return False
    await enqueue(conn, tenant_id, "submissions.send", {"submission_id": draft.id},
                  dedupe_key=f"submission:{draft.id}:send",
                  run_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=SAFETY_DELAY_SECONDS), max_attempts=20)
    return True


def retry_delay(attempts: int) -> float:
    """Seconds before the next try while the one-stop system is down: 15 s doubling to 10 min, jittered."""
    base = min(600.0, 15.0 * 2 ** max(0, attempts - 1))
    return random.uniform(base * 0.75, base)


async def send_submission(conn, runtime, tenant_id: str, submission_id: int) -> Draft | None:
    """Send a queued or waiting submission to the one-stop system, under a row lock.

    Returns the row afterwards: ``submitted`` (receipt recorded), ``waiting`` (system down;
    retry later), ``draft`` (refused: ``last_error`` says why) or unchanged."""
    await conn.execute("SET LOCAL lock_timeout = '40s'")
    draft = await get_submission(conn, runtime.crypto, tenant_id, submission_id, lock=True)
    if draft is None or draft.status not in ("queued", "waiting"):
        return draft
    adapter = await runtime.adapter(tenant_id)
    if Capability.submission not in adapter.capabilities:
        return await _refused(conn, runtime, tenant_id, draft,
                              "Tỉnh chưa nhận hồ sơ trực tuyến qua Zalo cho thủ tục này.")
    try:
        submission = await _build(conn, runtime, draft)
        receipt = await asyncio.wait_for(adapter.submit(submission), SUBMIT_TIMEOUT_SECONDS)
    except Rejected as exc:
        return await _refused(conn, runtime, tenant_id, draft, str(exc) or "Hệ thống một cửa từ chối hồ sơ.")
    except (AdapterError, TimeoutError, OSError) as exc:
        # Unavailable, Malformed (the system answered garbage) or a timeout: the same key is sent
        # again later, so whichever of these hid a success, the retry cannot make a second dossier.
        return await _waiting(conn, runtime, tenant_id, draft, f"{exc.__class__.__name__}: {exc}")
    return await _finalize(conn, runtime, tenant_id, draft, receipt)


async def _build(conn, runtime, draft: Draft) -> Submission:
    storage = get_storage(runtime)
    values = dict(draft.values)
    attachments = []
    files = await list_files(conn, draft.id)
    for n, f in enumerate(files, start=1):
        data = await storage.get(f.storage_key)
        attachments.append(Attachment(paper_code=f.paper_code, filename=f"{f.paper_code}-{n}.jpg",
                                      content_type=f.content_type, data=data))
    return Submission(
        idempotency_key=draft.idempotency_key, procedure_code=draft.procedure_code,
        applicant_name=values.pop("applicant_name", "") or "",
        applicant_phone=values.pop("applicant_phone", None) or None,
        applicant_id_number=values.pop("applicant_id_number", None) or None,
        fields={k: v for k, v in values.items() if v}, attachments=attachments)


async def _waiting(conn, runtime, tenant_id: str, draft: Draft, error: str) -> Draft:
    first = draft.status != "waiting"
    row = await conn.fetchrow(
        f"""UPDATE submission SET status = 'waiting', attempts = attempts + 1, last_error = $2,
                   waiting_since = coalesce(waiting_since, now()), updated_at = now()
            WHERE tenant_id = motcua_tenant() AND id = $1 RETURNING {_COLUMNS}""", draft.id, error[:500])
    if first:
        await notify(conn, runtime, tenant_id, draft.citizen_id, text=WAITING_TEXT,
                     dedupe_key=f"submission:{draft.id}:waiting", kind="submission_waiting")
    log.info("submission %s/%s waiting: %s", tenant_id, draft.id, error)
    return _draft(runtime.crypto, tenant_id, row)


async def _refused(conn, runtime, tenant_id: str, draft: Draft, reason: str) -> Draft:
    # A fresh key: the system refused this one, and a corrected draft is a new request to it.
    row = await conn.fetchrow(
        f"""UPDATE submission SET status = 'draft', last_error = $2, idempotency_key = $3, waiting_since = NULL,
                   updated_at = now()
            WHERE tenant_id = motcua_tenant() AND id = $1 RETURNING {_COLUMNS}""",
        draft.id, reason[:500], _new_idempotency_key())
    link = links.form_link(runtime, tenant_id, draft.procedure_code, draft.citizen_id)
    await notify(conn, runtime, tenant_id, draft.citizen_id,
                 text=f"Hồ sơ {draft.procedure_name or draft.procedure_code} chưa gửi được: {reason} "
                      "Ông/bà vui lòng mở lại biểu mẫu để bổ sung rồi gửi lại.",
                 buttons=[{"title": "Mở lại biểu mẫu", "url": link}],
                 dedupe_key=f"submission:{draft.id}:refused:{draft.idempotency_key}", kind="submission_refused")
    return _draft(runtime.crypto, tenant_id, row)


def receipt_text(procedure_name: str, code: str, due_at: dt.datetime | None, tz: str) -> str:
    lines = ["Hồ sơ của ông/bà đã được gửi thành công.", f"Mã hồ sơ: {code}", f"Thủ tục: {procedure_name}"]
    if due_at:
        from zoneinfo import ZoneInfo

        lines.append(f"Ngày hẹn trả kết quả: {due_at.astimezone(ZoneInfo(tz)):%d/%m/%Y}")
    lines.append("Ông/bà xem biên nhận và tình trạng hồ sơ bất cứ lúc nào qua nút bên dưới.")
    return "\n".join(lines)


async def _finalize(conn, runtime, tenant_id: str, draft: Draft, receipt: Receipt) -> Draft:
    now = dt.datetime.now(dt.UTC)
    values = draft.values
    dossier = Dossier(
        code=receipt.code, status=receipt.status,
        raw_status=RawStatus(code=str(receipt.status.national_code or receipt.status.value),
                             label="Nộp trực tuyến qua Zalo"),
        procedure_code=draft.procedure_code, procedure_name=draft.procedure_name,
        applicant_name=values.get("applicant_name") or None, applicant_phone=values.get("applicant_phone") or None,
        applicant_id_number=values.get("applicant_id_number") or None,
        submitted_at=now, received_at=receipt.received_at, due_at=receipt.due_at, online=True,
        updated_at=receipt.received_at or now)
    dossier_id = await store_dossier(conn, runtime, tenant_id, dossier)
    row = await conn.fetchrow(
        f"""UPDATE submission SET status = 'submitted', dossier_id = $2, dossier_code = $3, due_at = $4,
                   submitted_at = now(), last_error = NULL, updated_at = now()
            WHERE tenant_id = motcua_tenant() AND id = $1 RETURNING {_COLUMNS}""",
        draft.id, dossier_id, receipt.code, receipt.due_at)
    await conn.execute("INSERT INTO subscription (tenant_id, citizen_id, dossier_id, source) "
                       "VALUES (motcua_tenant(), $1, $2, 'submission') ON CONFLICT DO NOTHING",
                       draft.citizen_id, dossier_id)
    tenant = await runtime.tenant(tenant_id)
    tz = tenant.file.timezone if tenant else "Asia/Ho_Chi_Minh"
    await notify(conn, runtime, tenant_id, draft.citizen_id,
                 text=receipt_text(draft.procedure_name or draft.procedure_code, receipt.code, receipt.due_at, tz),
                 buttons=[{"title": "Xem biên nhận hồ sơ", "url": links.status_link(runtime, tenant_id, receipt.code)}],
                 dossier_id=dossier_id, dedupe_key=f"submission:{draft.id}:receipt", kind="submission_receipt")
    return _draft(runtime.crypto, tenant_id, row)


async def store_dossier(conn, runtime, tenant_id: str, dossier: Dossier) -> int:
    """The dossier row and its first timeline event, through the sync engine's timeline upsert so
    notifications and KPIs see an online submission like any other dossier."""
    from motcua.domain.dossiers.store import upsert_dossiers

    await upsert_dossiers(conn, runtime.crypto, tenant_id, [dossier])
    return await conn.fetchval("SELECT id FROM dossier WHERE tenant_id = motcua_tenant() AND code_key = $1",
                               normalize_code(dossier.code))


async def notify(conn, runtime, tenant_id: str, citizen_id: int, *, text: str, kind: str, dedupe_key: str,
                 buttons: list[dict[str, str]] | None = None, dossier_id: int | None = None) -> None:
    """Message the citizen on Zalo through the channel's outbox, in this transaction."""
    from motcua.channels.zalo.outbox import queue_message

    await queue_message(conn, runtime, tenant_id, citizen_id, kind=kind, text=text, buttons=buttons or [],
                        dossier_id=dossier_id, dedupe_key=dedupe_key)


async def offer_form(conn, runtime, tenant_id: str, citizen_id: int, procedure_code: str, procedure_name: str) -> None:
    """Send the citizen a message with a button that opens the online form (the bot calls this
    when a citizen asks to submit; the link is signed for them alone)."""
    link = links.form_link(runtime, tenant_id, procedure_code, citizen_id)
    await notify(conn, runtime, tenant_id, citizen_id,
                 text=f"Ông/bà có thể nộp hồ sơ \"{procedure_name}\" trực tuyến: điền biểu mẫu và chụp ảnh giấy tờ "
                      "ngay trên điện thoại. Bản nháp được lưu tự động.",
                 buttons=[{"title": "Nộp hồ sơ trực tuyến", "url": link}], kind="submission_offer",
                 dedupe_key=f"submission:offer:{citizen_id}:{procedure_code}:{secrets.token_hex(4)}")
