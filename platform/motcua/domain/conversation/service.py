"""The bot: one citizen message in, short kind Vietnamese replies out, and the side effects
(subscriptions, hand-over to an officer) in the caller's transaction.

``handle_text`` is called by the chat glue (``motcua.citizen.chat``) from the Zalo channel's
``zalo.message`` job; it never sends anything itself, it returns ``Reply`` objects.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from motcua.domain.conversation import dossier as dossiers
from motcua.domain.conversation.intents import Intent, understand
from motcua.domain.conversation.text import fold
from motcua.domain.notifications import service as notifications
from motcua.domain.notifications.send import query_button, url_button
from motcua.domain.procedures import service as procedures
from motcua.tenancy.schema import Tenant

log = logging.getLogger(__name__)

PROCEDURE_CODE = re.compile(r"(?<![\d.])(\d\.\d{6}(?:\.[0-9A-Za-z]+)*)")


@dataclass
class Reply:
    text: str
    buttons: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class UtilityContext:
    """What a chat utility's ``answer(query, context)`` gets."""

    tenant_id: str
    tenant: Tenant
    settings: dict[str, Any]  # the tenant file's [utilities.<name>] table
    base_dir: Path  # relative file names in settings resolve against the tenants directory
    runtime: Any = None
    citizen_id: int | None = None


def menu_buttons(tenant: Tenant, utilities: dict[str, Any]) -> list[dict[str, Any]]:
    """The main actions, as buttons; the OA menu (``oa_menu``) offers the same."""
    buttons = [query_button("Tra cứu hồ sơ", "Tra cứu hồ sơ"), query_button("Hồ sơ của tôi", "Hồ sơ của tôi"),
               query_button("Thủ tục, giấy tờ", "Thủ tục cần giấy tờ gì"), query_button("Gặp cán bộ", "Gặp cán bộ")]
    for name in tenant.file.features.utilities:
        if name in utilities:
            buttons.append(query_button(utilities[name].title[:20], utilities[name].title))
            break
    return buttons[:5]


def oa_menu(tenant: Tenant, utilities: dict[str, Any], public_url: str, slug: str) -> list[dict[str, Any]]:
    """The OA menu a province admin configures in Zalo's OA admin (the menu API is not
    documented, zalo.md §1.4): each item sends a text the bot understands or opens a page."""
    items = [{"title": "Tra cứu hồ sơ", "type": "oa.query.show", "payload": "Tra cứu hồ sơ"},
             {"title": "Hồ sơ của tôi", "type": "oa.query.show", "payload": "Hồ sơ của tôi"},
             {"title": "Thủ tục", "type": "oa.query.show", "payload": "Thủ tục cần giấy tờ gì"},
             {"title": "Gặp cán bộ", "type": "oa.query.show", "payload": "Gặp cán bộ"}]
    for name in tenant.file.features.utilities:
        if name in utilities:
            items.append({"title": utilities[name].title, "type": "oa.query.show", "payload": utilities[name].title})
    return items


def enabled_utilities(tenant: Tenant, registry: dict[str, Any]) -> list[tuple[str, tuple[str, ...]]]:
    out = []
    for name in tenant.file.features.utilities:
        u = registry.get(name)
        if u is not None:
            out.append((name, tuple(fold(k) for k in u.keywords)))
    return out


GREETING = ("Xin chào ông/bà! Tôi là trợ lý của {oa}. Ông/bà có thể gửi mã hồ sơ để tra cứu, "
            "hỏi thủ tục (ví dụ: \"khai sinh cần giấy tờ gì\") hoặc chọn một việc bên dưới.")


async def handle_text(conn: asyncpg.Connection, runtime: Any, tenant: Tenant, citizen_id: int, text: str,
                      *, now: datetime | None = None) -> list[Reply]:
    """Understand one text message and answer it."""
    slug = tenant.slug
    registry = dict(runtime.plugins.utilities) if runtime is not None else {}
    intent = understand(text, enabled_utilities(tenant, registry))
    proc_code = PROCEDURE_CODE.search(text or "")
    if intent.kind in ("unknown", "procedure", "menu") and proc_code:
        return await _procedure_card(conn, tenant, citizen_id, proc_code.group(1))
    # A short answer to "which code?" that is not a code is still meant as one.
    state = await conn.fetchrow("SELECT state, updated_at FROM chat_state WHERE tenant_id = $1 AND citizen_id = $2",
                                slug, citizen_id) if intent.kind == "unknown" else None
    if state and state["state"] == "await_code" \
            and (now or datetime.now(UTC)) - state["updated_at"] < timedelta(minutes=15):
        await _clear_state(conn, slug, citizen_id)
        return [Reply("Mã hồ sơ chưa đúng dạng. Mã có dạng 000.00.07.H12-251119-0001, in trên giấy tiếp nhận "
                      "hoặc mã QR. Xin ông/bà gửi lại mã.")]
    handler = {
        "code": _lookup, "lookup_prompt": _ask_code, "mine": _mine, "stop": _stop, "human": _human,
        "utility": _utility, "procedure": _procedure, "menu": _menu, "thanks": _thanks, "news": _news,
    }.get(intent.kind, _unknown)
    return await handler(conn, runtime, tenant, citizen_id, intent, text)


async def _set_state(conn, slug: str, citizen_id: int, state: str, data: dict | None = None) -> None:
    await conn.execute(
        """INSERT INTO chat_state (tenant_id, citizen_id, state, data) VALUES ($1, $2, $3, $4)
           ON CONFLICT (tenant_id, citizen_id) DO UPDATE SET state = $3, data = $4, updated_at = now()""",
        slug, citizen_id, state, data or {})


async def _clear_state(conn, slug: str, citizen_id: int) -> None:
    await conn.execute("DELETE FROM chat_state WHERE tenant_id = $1 AND citizen_id = $2", slug, citizen_id)


async def refresh_dossier(runtime: Any, slug: str, code: str) -> tuple[bool, datetime | None]:
    """Ask the one-stop system live through the sync part's lookup (which stores what it hears).
    Returns (stale, as_of): stale when the system could not answer and we show the last state."""
    try:
        from motcua.domain.dossiers.lookup import lookup
    except ImportError:
        return False, None
    try:
        result = await lookup(runtime, slug, code)
    except Exception as exc:  # noqa: BLE001 - the last synced state still answers the citizen
        log.warning("live lookup failed for %s: %s", slug, exc.__class__.__name__)
        return True, None
    return bool(getattr(result, "stale", False)), getattr(result, "as_of", None)


async def citizen_phone_key(conn, slug: str, citizen_id: int) -> str | None:
    return await conn.fetchval("SELECT phone_key FROM citizen WHERE tenant_id = $1 AND id = $2", slug, citizen_id)


async def _lookup(conn, runtime, tenant: Tenant, citizen_id: int, intent: Intent, text: str) -> list[Reply]:
    slug = tenant.slug
    await _clear_state(conn, slug, citizen_id)
    if not tenant.file.features.lookup:
        return [Reply("Tỉnh chưa mở tra cứu hồ sơ qua Zalo. Xin ông/bà liên hệ bộ phận một cửa.")]
    stale, as_of = await refresh_dossier(runtime, slug, intent.arg)
    view = await dossiers.find(conn, slug, intent.arg)
    if view is None:
        return [Reply("Không tìm thấy hồ sơ có mã này. Xin ông/bà kiểm tra lại mã trên giấy tiếp nhận "
                      "(ví dụ 000.00.07.H12-251119-0001) hoặc chọn \"Gặp cán bộ\" để được hỗ trợ.",
                      [query_button("Gặp cán bộ", "Gặp cán bộ")])]
    holder = view.holder_of(await citizen_phone_key(conn, slug, citizen_id))
    age = ""
    if stale:
        when = as_of or view.synced_at
        age = ("Hệ thống một cửa đang gián đoạn; thông tin cập nhật lúc "
               f"{dossiers.vn_datetime(when, tenant.file.timezone)}.") if when else ""
    link = dossiers.status_link(runtime, slug, view.code, view.code_key)
    text_out = dossiers.render_lookup(view, link, tz=tenant.file.timezone, holder=holder, age_note=age)
    buttons = [url_button("Xem chi tiết", link)]
    if tenant.file.features.notifications and view.status not in ("returned", "withdrawn", "not_accepted", "stopped"):
        # "theo dõi <mã>" is what the status page (opened from the receipt's QR) asks people to send.
        source = "qr" if "theo doi" in intent.text else "lookup"
        if await notifications.subscribe(conn, slug, citizen_id, view.id, source):
            text_out += "\nTôi sẽ nhắn ông/bà khi hồ sơ có thay đổi (nhắn \"dừng thông báo\" để dừng)."
    if tenant.file.features.ratings and view.status in ("resolved", "returned"):
        buttons.append(url_button("Đánh giá hài lòng", link + "#danh-gia"))
    return [Reply(text_out, buttons)]


async def _ask_code(conn, runtime, tenant: Tenant, citizen_id: int, intent: Intent, text: str) -> list[Reply]:
    await _set_state(conn, tenant.slug, citizen_id, "await_code")
    return [Reply("Xin ông/bà gửi mã hồ sơ in trên giấy tiếp nhận (ví dụ 000.00.07.H12-251119-0001). "
                  "Nếu đã chia sẻ số điện thoại, ông/bà có thể chọn \"Hồ sơ của tôi\".",
                  [query_button("Hồ sơ của tôi", "Hồ sơ của tôi")])]


async def _mine(conn, runtime, tenant: Tenant, citizen_id: int, intent: Intent, text: str) -> list[Reply]:
    slug = tenant.slug
    phone_key = await citizen_phone_key(conn, slug, citizen_id)
    if not phone_key:
        return [Reply("Để xem hồ sơ của mình, ông/bà vui lòng chia sẻ số điện thoại với Trung tâm (chọn \"Chia sẻ "
                      "thông tin\" khi được hỏi), hoặc gửi mã hồ sơ in trên giấy tiếp nhận.")]
    rows = await conn.fetch(
        """SELECT id, code, code_key, status, procedure_name, due_at FROM dossier
           WHERE tenant_id = $1 AND applicant_key = $2 ORDER BY coalesce(received_at, created_at) DESC LIMIT 6""",
        slug, phone_key)
    if not rows:
        return [Reply("Chưa thấy hồ sơ nào gắn với số điện thoại ông/bà đã chia sẻ. Nếu có mã hồ sơ, "
                      "xin ông/bà gửi mã để tra cứu.")]
    tz = tenant.file.timezone
    lines = ["Hồ sơ của ông/bà:"]
    buttons = []
    for r in rows[:5]:
        lines.append(f"• {r['code']}: {dossiers.SHORT_STATUS.get(r['status'], r['status'])}"
                     + (f", hẹn trả {dossiers.vn_date(r['due_at'], tz)}" if r["due_at"] and r["status"] not in
                        ("resolved", "returned") else "")
                     + (f" ({r['procedure_name']})" if r["procedure_name"] else ""))
        if r["status"] not in ("returned", "withdrawn", "not_accepted", "stopped") and tenant.file.features.notifications:
            await notifications.subscribe(conn, slug, citizen_id, r["id"], "lookup")
        if len(buttons) < 3:
            buttons.append(url_button(r["code"][-11:], dossiers.status_link(runtime, slug, r["code"], r["code_key"])))
    if len(rows) > 5:
        lines.append("… và hồ sơ khác: gửi mã để xem chi tiết.")
    lines.append("Tôi sẽ nhắn ông/bà khi các hồ sơ này có thay đổi.")
    return [Reply("\n".join(lines), buttons)]


async def _stop(conn, runtime, tenant: Tenant, citizen_id: int, intent: Intent, text: str) -> list[Reply]:
    n = await notifications.stop(conn, tenant.slug, citizen_id)
    if n:
        return [Reply("Đã dừng thông báo về hồ sơ của ông/bà. Khi cần, ông/bà gửi mã hồ sơ để tra cứu và "
                      "nhận thông báo lại.")]
    return [Reply("Ông/bà hiện không nhận thông báo nào về hồ sơ.")]


def route_agency(tenant: Tenant, folded: str) -> str | None:
    """The agency a question goes to, by the tenant's routing rules, then agency topics, then
    the rule for general questions, then the public-administration centre. The officer
    inbox's routing (same rules) is used when the staff part is installed."""
    try:
        from motcua.domain.inbox.routing import route

        agency = route(tenant, folded)
        if agency:
            return agency
    except ImportError:
        pass
    for rule in tenant.file.routing:
        if any(fold(k) and f" {fold(k)} " in f" {folded} " for k in rule.keywords):
            return rule.agency
    for agency in tenant.file.agencies:
        if any(fold(t) and f" {fold(t)} " in f" {folded} " for t in agency.topics):
            return agency.code
    for rule in tenant.file.routing:
        if "khac" in rule.categories or "thu-tuc-hanh-chinh" in rule.categories:
            return rule.agency
    centre = next((a.code for a in tenant.file.agencies if a.kind == "center"), None)
    return centre


async def hand_over(conn, tenant: Tenant, citizen_id: int, text: str, *, topic: str | None = None) -> tuple[int, bool]:
    """Open (or reuse) the citizen's conversation with officers. Returns (id, newly opened)."""
    slug = tenant.slug
    existing = await conn.fetchval(
        """SELECT id FROM conversation WHERE tenant_id = $1 AND citizen_id = $2 AND status IN ('open', 'waiting')
           ORDER BY id DESC LIMIT 1""", slug, citizen_id)
    if existing:
        await conn.execute("UPDATE conversation SET updated_at = now(), status = 'open' WHERE tenant_id = $1 AND id = $2",
                           slug, existing)
        conv_id, new = existing, False
    else:
        agency = route_agency(tenant, fold(text))
        deadline = datetime.now(UTC) + timedelta(hours=tenant.file.sla.question_hours)
        conv_id = await conn.fetchval(
            """INSERT INTO conversation (tenant_id, citizen_id, agency_code, status, topic, deadline_at)
               VALUES ($1, $2, $3, 'open', $4, $5) RETURNING id""",
            slug, citizen_id, agency, (topic or text or "")[:200] or None, deadline)
        new = True
    # The messages that led here belong to the conversation the officer will read.
    await conn.execute(
        """UPDATE message SET conversation_id = $3 WHERE tenant_id = $1 AND citizen_id = $2 AND conversation_id IS NULL
           AND direction = 'in' AND created_at > now() - interval '30 minutes'""", slug, citizen_id, conv_id)
    return conv_id, new


def _hours_text(hours: float) -> str:
    return f"{int(hours)} giờ làm việc" if float(hours).is_integer() else f"{hours} giờ làm việc"


async def _human(conn, runtime, tenant: Tenant, citizen_id: int, intent: Intent, text: str) -> list[Reply]:
    if not tenant.file.features.questions:
        return [Reply("Tỉnh chưa mở hỏi đáp với cán bộ qua Zalo. Xin ông/bà liên hệ bộ phận một cửa.")]
    _, new = await hand_over(conn, tenant, citizen_id, text, topic="Công dân muốn gặp cán bộ")
    if not new:
        return [Reply("Cán bộ đã nhận yêu cầu của ông/bà và sẽ trả lời sớm. Ông/bà cứ nhắn thêm nội dung cần hỏi.")]
    return [Reply("Đã chuyển ông/bà đến cán bộ. Xin ông/bà nhắn nội dung cần hỏi; cán bộ sẽ trả lời trong vòng "
                  f"{_hours_text(tenant.file.sla.question_hours)}.")]


async def _utility(conn, runtime, tenant: Tenant, citizen_id: int, intent: Intent, text: str) -> list[Reply]:
    utility = runtime.plugins.utilities.get(intent.arg)
    ctx = UtilityContext(tenant_id=tenant.slug, tenant=tenant, settings=dict(tenant.file.utilities.get(intent.arg, {})),
                         base_dir=Path(runtime.settings.tenants_dir), runtime=runtime, citizen_id=citizen_id)
    try:
        answer = await utility.answer(text, ctx)
    except Exception as exc:  # noqa: BLE001 - a plug-in's failure must not silence the bot
        log.warning("utility %s failed: %s", intent.arg, exc)
        answer = "Xin lỗi, tiện ích này đang gặp sự cố. Xin ông/bà thử lại sau."
    return [Reply(answer)]


async def _procedure_card(conn, tenant: Tenant, citizen_id: int, code: str) -> list[Reply]:
    card = await procedures.card(conn, tenant.slug, code)
    if card is None:
        return [Reply(f"Không tìm thấy thủ tục mã {code}. Xin ông/bà gõ tên thủ tục, ví dụ \"khai sinh\".")]
    return [Reply(procedures.render_card(card))]


async def _procedure(conn, runtime, tenant: Tenant, citizen_id: int, intent: Intent, text: str) -> list[Reply]:
    found = await procedures.search(conn, tenant.slug, intent.arg, limit=4)
    if not found:
        faq = await _faq(conn, tenant.slug, intent.text)
        if faq:
            return [faq]
        await hand_over(conn, tenant, citizen_id, text)
        return [Reply("Tôi chưa tìm thấy thủ tục phù hợp. Câu hỏi của ông/bà đã được chuyển đến cán bộ; "
                      f"cán bộ sẽ trả lời trong vòng {_hours_text(tenant.file.sla.question_hours)}.")]
    best = found[0]
    if len(found) == 1 or best.score >= found[1].score + 0.5:
        return [Reply(procedures.render_card(best))]
    lines = ["Có một số thủ tục phù hợp, ông/bà chọn thủ tục cần xem:"]
    buttons = []
    for p in found[:4]:
        lines.append(f"• {p.name} (mã {p.code})")
        buttons.append(query_button(p.name[:40], f"Thủ tục {p.code}"))
    return [Reply("\n".join(lines), buttons)]


async def _faq(conn, slug: str, folded: str) -> Reply | None:
    try:
        row = await conn.fetchrow(
            """SELECT question, answer FROM faq WHERE tenant_id = $1 AND published AND search_key <> ''
               AND similarity(search_key, $2) > 0.45 ORDER BY similarity(search_key, $2) DESC LIMIT 1""", slug, folded)
    except asyncpg.UndefinedTableError:
        return None
    return Reply(f"{row['question']}\n{row['answer']}") if row else None


async def _menu(conn, runtime, tenant: Tenant, citizen_id: int, intent: Intent, text: str) -> list[Reply]:
    oa = tenant.file.zalo.oa_name if tenant.file.zalo else tenant.file.name
    registry = dict(runtime.plugins.utilities) if runtime is not None else {}
    return [Reply(GREETING.format(oa=oa), menu_buttons(tenant, registry))]


async def _thanks(conn, runtime, tenant: Tenant, citizen_id: int, intent: Intent, text: str) -> list[Reply]:
    return [Reply("Dạ, rất vui được hỗ trợ ông/bà. Chúc ông/bà một ngày tốt lành!")]


async def _news(conn, runtime, tenant: Tenant, citizen_id: int, intent: Intent, text: str) -> list[Reply]:
    from motcua.domain.news import service as news

    items = await news.latest(conn, tenant.slug, limit=3)
    if not items:
        return [Reply("Hiện chưa có tin mới. Xin cảm ơn ông/bà đã quan tâm.")]
    lines = ["Tin mới:"] + [f"• {a.title}" + (f": {a.link}" if a.link else "") for a in items]
    return [Reply("\n".join(lines))]


async def _unknown(conn, runtime, tenant: Tenant, citizen_id: int, intent: Intent, text: str) -> list[Reply]:
    faq = await _faq(conn, tenant.slug, intent.text)
    if faq:
        return [faq]
    if not tenant.file.features.questions:
        return await _menu(conn, runtime, tenant, citizen_id, intent, text)
    _, new = await hand_over(conn, tenant, citizen_id, text)
    if not new:
        return []  # an officer is already on it; their reply comes from the inbox
    return [Reply("Cảm ơn ông/bà. Tôi chưa hiểu rõ câu hỏi nên đã chuyển đến cán bộ; cán bộ sẽ trả lời trong vòng "
                  f"{_hours_text(tenant.file.sla.question_hours)}. Ông/bà cũng có thể gửi mã hồ sơ để tra cứu ngay.")]
