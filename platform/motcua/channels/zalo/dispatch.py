"""Hands each citizen event to the conversation layer (the bot), through the hook
``motcua_register_chat(registry)``.

A chat handler is ``async def handler(event: ChatEvent, ctx: ChatContext) -> bool``: it runs in
the worker inside the event's tenant transaction, after the citizen and the inbound message
are stored, and returns True when it handled the event. Handlers are tried in registration
order until one returns True. Replies go through ``ctx.reply(...)`` (the outbox, with a dedupe
key derived from the event, so a retried job replies once; when events are processed in a
batch, the batch's replies are queued together at its end).

Until a bot is registered — or when none handles an event — a short, kind Vietnamese
acknowledgement answers messages and greets new followers. Echoes of the OA's own messages
and receipts never reach handlers, so the bot can never answer itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from motcua.channels.zalo.outbox import Message, queue_messages

if TYPE_CHECKING:
    import asyncpg

    from motcua.channels.zalo.client import Button
    from motcua.channels.zalo.events import ZaloEvent
    from motcua.runtime import Runtime
    from motcua.tenancy.schema import Tenant

# Events a conversation may react to (messages, follows, shared info, "Nhắn tin" clicks).
CHAT_EVENTS_PREFIX = "user_send_"
CHAT_EVENTS = frozenset({"follow", "unfollow", "user_submit_info", "user_click_chatnow", "user_reacted_message"})

ACK_TEXT = ("Cảm ơn ông/bà đã nhắn tin. Chúng tôi đã nhận được và sẽ trả lời ông/bà sớm nhất có thể.")
WELCOME_TEXT = ("Cảm ơn ông/bà đã quan tâm {oa_name}. Ông/bà có thể nhắn mã hồ sơ để tra cứu, "
                "hoặc đặt câu hỏi, chúng tôi sẽ trả lời sớm.")
INFO_TEXT = "Cảm ơn ông/bà đã chia sẻ thông tin. Chúng tôi chỉ dùng thông tin này để phục vụ ông/bà."


@dataclass(frozen=True)
class ChatEvent:
    """One citizen event: ``kind`` is "text", "image", "location", "file", "sticker", ...
    for messages (``user_send_<kind>``), else the event name ("follow", "user_submit_info", ...)."""

    event_id: int
    event_key: str
    event_name: str
    kind: str
    citizen_id: int
    zalo_user_id: str
    text: str | None
    payload: dict[str, Any]  # attachments, quoted message, shared info fields (never the phone)
    message_id: int | None  # the stored inbound ``message`` row, for messages
    raw: ZaloEvent


@dataclass
class ChatContext:
    conn: asyncpg.Connection  # the open tenant transaction
    runtime: Runtime
    tenant: Tenant
    event: ChatEvent
    replies: int = 0
    # In a batch of events, replies are collected here and queued together when it ends.
    pending: list[Message] | None = None

    async def reply(self, text: str | None = None, *, buttons: list[Button | dict[str, Any]] | None = None,
                    image_url: str | None = None, kind: str = "reply",
                    zns: tuple[str, dict[str, Any]] | None = None) -> None:
        """Queue a reply to this event's citizen. Several replies to one event are fine."""
        self.replies += 1
        message = Message(self.event.citizen_id, kind=kind, text=text, buttons=buttons, image_url=image_url,
                          zns=zns, dedupe_key=f"reply:{self.event.event_id}:{self.replies}")
        if self.pending is not None:
            self.pending.append(message)
        else:
            await queue_messages(self.conn, self.tenant, [message])


ChatHandler = Callable[[ChatEvent, ChatContext], Awaitable[bool]]


@dataclass
class ChatRegistry:
    handlers: list[ChatHandler] = field(default_factory=list)

    def register(self, handler: ChatHandler) -> None:
        self.handlers.append(handler)


def chat_registry(rt: Runtime) -> ChatRegistry:
    """What ``motcua_register_chat`` registered, collected once per process."""
    reg = rt.state.get("zalo.chat")
    if reg is None:
        reg = ChatRegistry()
        rt.plugins.pm.hook.motcua_register_chat(registry=reg)
        rt.state["zalo.chat"] = reg
    return reg


def wants_chat(ev: ZaloEvent) -> bool:
    return ev.event_name.startswith(CHAT_EVENTS_PREFIX) or ev.event_name in CHAT_EVENTS


async def dispatch(event: ChatEvent, ctx: ChatContext) -> None:
    for handler in chat_registry(ctx.runtime).handlers:
        if await handler(event, ctx):
            return
    await default_reply(event, ctx)


async def default_reply(event: ChatEvent, ctx: ChatContext) -> None:
    """The acknowledgement used until a bot handles events."""
    if event.event_name.startswith(CHAT_EVENTS_PREFIX):
        await ctx.reply(ACK_TEXT, kind="ack")
    elif event.event_name == "follow":
        zalo = ctx.tenant.file.zalo
        await ctx.reply(WELCOME_TEXT.format(oa_name=zalo.oa_name if zalo else ctx.tenant.file.name), kind="welcome")
    elif event.event_name == "user_submit_info":
        await ctx.reply(INFO_TEXT, kind="ack")
