"""The chat side of online submission, registered before the general bot (``motcua_register_chat``).

- "nộp hồ sơ khai sinh" / "nop ho so ket hon" / "nộp hồ sơ 1.001193": the matching online
  procedures come back as buttons that open the signed form (one button when one matches).
- A photo sent in the chat while the citizen has a draft: a button back to that draft, where
  the photo can be attached ("Dùng ảnh đã gửi trong Zalo").

Anything else is left to the next handler (the citizen bot).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from motcua.domain.submissions import links
from motcua.onestop.records import Procedure

MAX_BUTTONS = 5  # Zalo shows at most five buttons under a message
_INTENT = re.compile(r"^\s*(?:toi muon |em muon |xin |cho toi )?nop(?: ho so| hs)?(?: truc tuyen| online)?\b[\s:,-]*(.*)$")
_STOP = {"thu", "tuc", "ho", "so", "cho", "toi", "minh", "em", "can", "muon", "lam", "giay", "dang", "ky", "cap", "xin"}


def fold(text: str) -> str:
    """Accents off, đ→d, lower case, single spaces: what citizens type without diacritics matches."""
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn").lower()
    return " ".join(re.sub(r"[^0-9a-z.]+", " ", text).split())


def match_procedures(procedures: list[Procedure], query: str) -> list[Procedure]:
    """Online procedures whose name holds every meaningful word of ``query`` (or whose code it is)."""
    online = [p for p in procedures if p.online]
    q = fold(query)
    if not q:
        return online
    by_code = [p for p in online if fold(p.code) == q or fold(p.code).startswith(q + ".")]
    if by_code:
        return by_code
    words = [w for w in q.split() if w not in _STOP] or q.split()
    return [p for p in online if all(w in fold(p.name).split() or w in fold(p.name) for w in words)]


async def catalogue(conn, runtime, tenant_id: str) -> list[Procedure]:
    """The province's procedures: the synced table first, else the adapter's catalogue."""
    import msgspec

    rows = await conn.fetch("SELECT code, name, online, fee, data FROM procedure WHERE tenant_id = motcua_tenant() "
                            "AND online ORDER BY name")
    if rows:
        return [msgspec.convert({"code": r["code"], "name": r["name"], "online": r["online"], "fee": r["fee"]},
                                Procedure) for r in rows]
    from motcua.domain.submissions.forms import adapter_catalogue
    from motcua.onestop.contract import AdapterError

    try:
        return list(await adapter_catalogue(runtime, tenant_id) or [])
    except AdapterError:  # the system is down: the citizen may still name a code
        return []


async def handle(event: Any, ctx: Any) -> bool:
    tenant = ctx.tenant
    if not tenant.file.features.online_submission:
        return False
    from motcua.onestop.contract import Capability

    if Capability.submission not in (await ctx.runtime.adapter(tenant.slug)).capabilities:
        return False  # the bot explains where to submit in person
    if event.event_name == "user_send_text" and event.text:
        folded = fold(event.text)
        if "buu dien" in folded or "buu chinh" in folded:
            return await _postal_status(event, ctx)
        m = _INTENT.match(folded)
        if not m:
            return False
        # "nộp ở đâu" is a question for the bot; "nộp hồ sơ ..." / "nộp trực tuyến" is ours.
        explicit = any(w in folded for w in ("nop ho so", "nop hs", "truc tuyen", "online"))
        return await _offer(event, ctx, m.group(1).strip(), explicit=explicit)
    if event.event_name == "user_send_image":
        row = await ctx.conn.fetchrow(
            "SELECT procedure_code, procedure_name FROM submission WHERE tenant_id = motcua_tenant() AND citizen_id = $1 "
            "AND status = 'draft' ORDER BY updated_at DESC LIMIT 1", event.citizen_id)
        if row is None:
            return False
        link = links.form_link(ctx.runtime, tenant.slug, row["procedure_code"], event.citizen_id)
        await ctx.reply(f"Đã nhận ảnh. Ông/bà mở hồ sơ \"{row['procedure_name'] or row['procedure_code']}\" và chọn "
                        "\"Dùng ảnh đã gửi trong Zalo\" để đính kèm ảnh này.",
                        buttons=[{"title": "Mở hồ sơ đang soạn", "url": link}], kind="submission_offer")
        return True
    return False


async def _offer(event: Any, ctx: Any, query: str, *, explicit: bool) -> bool:
    slug = ctx.tenant.slug
    procs = match_procedures(await catalogue(ctx.conn, ctx.runtime, slug), query)
    if not procs and re.fullmatch(r"\d+\.\d{6}(\.[0-9a-z.]+)?", query):
        # A bare national code and no catalogue to check it against: the one-stop system checks it.
        procs = [Procedure(code=query.upper(), name=f"Thủ tục {query.upper()}", online=True)]
    if not procs:
        if not explicit:
            return False
        await ctx.reply("Chưa tìm thấy thủ tục nộp trực tuyến phù hợp. Ông/bà nhắn tên thủ tục, ví dụ "
                        "\"nộp hồ sơ khai sinh\", hoặc mã thủ tục, ví dụ \"nộp hồ sơ 1.001193\".", kind="submission_offer")
        return True
    buttons = [{"title": p.name[:100], "url": links.form_link(ctx.runtime, slug, p.code, event.citizen_id)}
               for p in procs[:MAX_BUTTONS]]
    if len(procs) == 1:
        text = (f"Ông/bà có thể nộp hồ sơ \"{procs[0].name}\" trực tuyến: điền biểu mẫu và chụp ảnh giấy tờ ngay "
                "trên điện thoại. Bản nháp được lưu tự động.")
        buttons[0]["title"] = "Nộp hồ sơ trực tuyến"
    else:
        text = "Ông/bà chọn thủ tục muốn nộp trực tuyến:"
    await ctx.reply(text, buttons=buttons, kind="submission_offer")
    return True


async def _postal_status(event: Any, ctx: Any) -> bool:
    """"nhận kết quả qua bưu điện": where each of the citizen's online dossiers stands, with a
    button to ask for the post where not asked yet."""
    from motcua.domain.postal.service import STATUS_LABELS
    from motcua.submission.pages import postal_link

    rows = await ctx.conn.fetch(
        """SELECT s.dossier_code, s.procedure_name, p.status, p.reference FROM submission s
           LEFT JOIN postal_request p ON p.tenant_id = s.tenant_id AND p.dossier_id = s.dossier_id
           WHERE s.tenant_id = motcua_tenant() AND s.citizen_id = $1 AND s.status = 'submitted'
           ORDER BY s.submitted_at DESC LIMIT 3""", event.citizen_id)
    if not rows:
        return False  # no online dossier of theirs: the bot explains the service
    lines, buttons = [], []
    for r in rows:
        if r["status"]:
            ref = f" (mã {r['reference']})" if r["reference"] else ""
            lines.append(f"- {r['dossier_code']}: {STATUS_LABELS[r['status']]}{ref}.")
        else:
            lines.append(f"- {r['dossier_code']}: chưa đăng ký nhận qua bưu điện.")
            buttons.append({"title": f"Nhận qua bưu điện: {r['dossier_code']}"[:100],
                            "url": postal_link(ctx.runtime, ctx.tenant.slug, r["dossier_code"])})
    await ctx.reply("Nhận kết quả qua bưu điện:\n" + "\n".join(lines), buttons=buttons[:MAX_BUTTONS] or None,
                    kind="postal_status")
    return True
