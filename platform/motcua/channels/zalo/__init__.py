"""The Zalo channel: webhooks in, consultation and ZNS messages out, OA tokens, OAuth connect.

Where things live (reference: /work/shared/reference/zalo.md):

* ``signature``  — ``X-ZEvent-Signature`` exactly as Zalo computes it.
* ``events``     — webhook events as lenient wire Structs (IDs stay strings).
* ``webhook``    — ``POST /zalo/{tenant}/webhook`` and ``POST /zalo/webhook``: verify, store once,
  enqueue ``zalo.message`` (a citizen's message) or ``zalo.event``, answer 200 — one transaction.
* ``processing`` — the ``zalo.event`` / ``zalo.message`` jobs: citizens, inbound messages,
  receipts, erasure, then ``dispatch``; citizens' messages in batches (``event_batch``, and
  ``zalo.converse`` for answers a batch had no time for); the ``zalo.profile`` job (display name from user detail).
* ``dispatch``   — the ``motcua_register_chat`` plug-in point for the bot, and the default
  acknowledgement.
* ``outbox``     — ``queue_message`` (the API every other part uses to message a citizen) and the
  ``zalo.send`` job: per-OA rate limit, CS or ZNS, retries, never twice.
* ``client``     — the httpx client for OA, ZNS and OAuth with Zalo's errors as types.
* ``tokens``     — encrypted tokens, refresh exactly once per OA across workers.
* ``oauth``      — connect an OA (OAuth v4 + PKCE), and its state at ``/api/v1/tenants/{t}/zalo``.
* ``citizens``   — the ``citizen`` row: upsert, sealed shared info, erasure, ``citizen_phone``.
"""
