"""Feedback and petitions (phản ánh, kiến nghị): what citizens report or propose, from the chat,
the Mini App or the web, handled by the responsible agency within ``sla.feedback_days``.

One service for every channel: the chat bot, the Mini App API and the web form call the same
functions, so routing, deadlines and answers behave alike. Stable signatures:

- ``await create_feedback(conn, tenant, category=..., title=..., content=..., channel="zalo",
  citizen_id=None, photos=[...], location=None, contact=None) -> Created`` — validates, routes to
  an agency, sets the deadline; raises ``FeedbackError`` (Vietnamese message) and writes nothing
  when the input is bad.
- ``await answer(conn, runtime, principal, tenant, feedback_id, text)`` — records the answer and,
  when the citizen came from Zalo, queues it to them (``queue_message``) in the same transaction.
- ``await publish(conn, principal, tenant, feedback_id, public_text=None)`` — shows an answered
  item on the tenant's public page (``GET /t/{tenant}/phan-anh``) without personal data.
- ``await public_items(conn, tenant)``; ``CATEGORIES``; ``STATUSES``; staff-side ``assign``,
  ``set_status``, ``get_feedback``, ``list_feedback``.

All run inside the caller's tenant transaction and never commit.
"""

from motcua.domain.feedback.service import (
    CATEGORIES,
    STATUS_LABELS,
    STATUSES,
    Created,
    FeedbackError,
    NotVisible,
    answer,
    assign,
    create_feedback,
    get_feedback,
    list_feedback,
    mask_personal_data,
    public_items,
    publish,
    set_status,
    unpublish,
)

__all__ = [
    "CATEGORIES", "STATUSES", "STATUS_LABELS", "Created", "FeedbackError", "NotVisible", "answer", "assign",
    "create_feedback", "get_feedback", "list_feedback", "mask_personal_data", "public_items", "publish",
    "set_status", "unpublish",
]
