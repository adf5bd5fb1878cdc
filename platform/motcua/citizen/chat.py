"""The bot, registered with the Zalo channel through ``motcua_register_chat``.

The channel calls ``handle(event, ctx)`` in the worker, inside the event's tenant transaction,
after it stored the citizen and the message; replies go through ``ctx.reply`` (the outbox, with
a dedupe key per event, so a retried job never answers twice).
"""

from __future__ import annotations

from typing import Any

from motcua.domain.conversation import service

WELCOME = ("Cảm ơn ông/bà đã quan tâm {oa}! Tại đây ông/bà có thể tra cứu hồ sơ (gửi mã hồ sơ), nhận thông báo khi "
           "hồ sơ có kết quả, hỏi thủ tục và gặp cán bộ. Ông/bà chọn một việc bên dưới nhé.")
SHARED = ("Cảm ơn ông/bà đã chia sẻ thông tin. Chúng tôi chỉ dùng thông tin này để phục vụ ông/bà. "
          "Ông/bà có thể chọn \"Hồ sơ của tôi\" để xem các hồ sơ đã nộp.")
NOT_TEXT = ("Tôi đã nhận được. Để tra cứu, ông/bà vui lòng gửi mã hồ sơ bằng chữ; cần hỗ trợ thêm, "
            "ông/bà chọn \"Gặp cán bộ\".")


async def handle(event: Any, ctx: Any) -> bool:
    tenant = ctx.tenant
    registry = dict(ctx.runtime.plugins.utilities)
    name = event.event_name
    if name == "user_send_text" or (event.kind == "text" and event.text):
        replies = await service.handle_text(ctx.conn, ctx.runtime, tenant, event.citizen_id, event.text or "")
        for r in replies:
            await ctx.reply(r.text, buttons=r.buttons or None, kind="chat")
        return True
    if name == "follow":
        oa = tenant.file.zalo.oa_name if tenant.file.zalo else tenant.file.name
        await ctx.reply(WELCOME.format(oa=oa), buttons=service.menu_buttons(tenant, registry), kind="welcome")
        return True
    if name == "user_submit_info":
        await ctx.reply(SHARED, buttons=[{"title": "Hồ sơ của tôi", "query": "Hồ sơ của tôi"}], kind="chat")
        return True
    if name.startswith("user_send_") and name not in ("user_send_image", "user_send_file"):
        # Stickers, locations, links: acknowledged kindly. Images and files may belong to an
        # online submission or an officer conversation, so they are left to other handlers.
        await ctx.reply(NOT_TEXT, kind="chat")
        return True
    return False
