"""Broadcasts (tin nhắn gửi hàng loạt): a province admin composes a message, targets every
follower or followers with given tags, schedules it, and watches it go out.

Sending is a chain of ``broadcasts.run`` jobs. Each job takes the next batch of recipients by
citizen id after the broadcast's cursor (keyset, so memory stays flat for a million followers),
queues one message per recipient through the Zalo outbox with the dedupe key
``broadcast:{id}:{citizen_id}`` (a re-run batch creates nothing twice), moves the cursor and
enqueues the next job, all in one transaction. The per-OA rate limit is the outbox's; a batch
waits while too many of this broadcast's messages are still queued, so the job table stays small.
Progress is counted from the notifications' statuses.
"""

from motcua.domain.broadcasts.service import (
    BATCH,
    BroadcastError,
    cancel_broadcast,
    create_broadcast,
    progress,
    recipients_count,
    run_broadcast,
)

__all__ = ["BATCH", "BroadcastError", "cancel_broadcast", "create_broadcast", "progress", "recipients_count",
           "run_broadcast"]
