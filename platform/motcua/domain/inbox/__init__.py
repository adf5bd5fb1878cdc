"""The officer inbox (hộp thư cán bộ): conversations that the bot hands over, or that citizens
ask for, answered by officers of the responsible agency.

A ``conversation`` is routed to an agency (``routing.route``), gets a deadline from the tenant's
``sla.question_hours``, and moves open -> waiting (answered, waiting on the citizen) -> closed.
Officers claim, transfer, escalate to a specialist, add internal notes (message direction
'note') and reply; replies reach the citizen through the Zalo outbox (``queue_message``), whose
fallback sends the tenant's ``answer_waiting`` ZNS template when the reply window is closed.

For the bot (citizen services): ``await open_conversation(conn, tenant, citizen_id, topic=...,
text=...)`` creates or reuses the citizen's open conversation, routed and with its deadline,
inside the caller's transaction, and returns its id.
"""

from motcua.domain.inbox.routing import fold, route
from motcua.domain.inbox.service import (
    InboxError,
    NotVisible,
    add_note,
    claim,
    close,
    conversation_messages,
    escalate,
    get_conversation,
    list_conversations,
    open_conversation,
    reply,
    sweep,
    transfer,
)

__all__ = [
    "InboxError", "NotVisible", "add_note", "claim", "close", "conversation_messages", "escalate", "fold",
    "get_conversation", "list_conversations", "open_conversation", "reply", "route", "sweep", "transfer",
]
