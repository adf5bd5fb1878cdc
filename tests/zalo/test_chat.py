"""The plug-in point for the conversation layer: ``motcua_register_chat``."""

from __future__ import annotations

from motcua.channels.zalo.client import Button
from motcua.channels.zalo.dispatch import ChatRegistry, chat_registry
from motcua.plugins import get_plugin_manager, hookimpl

from .conftest import new_user_id


class EchoBot:
    """A third-party plug-in: answers texts that start with "echo"."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def handle(self, event, ctx) -> bool:
        self.seen.append(event.kind)
        if event.kind != "text" or not (event.text or "").startswith("echo"):
            return False
        await ctx.reply(f"Ông/bà vừa gửi: {event.text[5:]}", buttons=[Button("Tra cứu", query="#tracuu")])
        return True

    @hookimpl
    def motcua_register_chat(self, registry) -> None:
        registry.register(self.handle)


def test_a_plugin_registers_its_chat_handler_through_the_hook():
    bot = EchoBot()
    pm = get_plugin_manager(extra=(bot,))
    registry = ChatRegistry()
    pm.hook.motcua_register_chat(registry=registry)
    assert bot.handle in registry.handlers


async def test_handlers_are_tried_in_order_and_the_first_that_handles_replies(http, runtime, ca_mau, worker):
    bot, declined = EchoBot(), []

    async def first(event, ctx) -> bool:
        declined.append(event.event_name)
        return False

    saved = chat_registry(runtime)
    runtime.state["zalo.chat"] = ChatRegistry([first, bot.handle])
    try:
        user = new_user_id()
        await ca_mau.post(http, ca_mau.event("user_send_text", user, text="echo xin chào"))
        await ca_mau.post(http, ca_mau.event("oa_send_text", user, text="echo từ OA",
                                             sender={"id": ca_mau.oa_id}, recipient={"id": user}))
        await worker.run_until_idle()
    finally:
        runtime.state["zalo.chat"] = saved
    assert declined == ["user_send_text"] and bot.seen == ["text"]  # the OA's echo never reaches the bot
    async with runtime.db.tenant(ca_mau.slug) as conn:
        rows = await conn.fetch("SELECT n.body FROM notification n JOIN citizen c ON c.tenant_id = n.tenant_id "
                                "AND c.id = n.citizen_id WHERE c.zalo_user_id = $1", user)
    assert [r["body"]["text"] for r in rows] == ["Ông/bà vừa gửi: xin chào"]
    assert rows[0]["body"]["buttons"] == [{"title": "Tra cứu", "query": "#tracuu"}]
