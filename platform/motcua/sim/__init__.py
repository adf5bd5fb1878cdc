"""The Zalo simulator: a fake of Zalo's OA API, OAuth v4, ZNS and graph API, and a phone page.
Demo and tests only; registered under ``/sim`` only when ``settings.enable_simulator`` is on.

Point Motcua at it with ``openapi_url = oauth_url = business_url = graph_url = {base}/sim``;
every production path then follows the host unchanged (``{base}/sim/v3.0/oa/message/cs``,
``{base}/sim/message/template``, ``{base}/sim/v4/oa/access_token``, ``{base}/sim/v2.0/me``).
The contract is Zalo's documented behaviour (/work/shared/reference/zalo.md); where the
reference leaves a detail open the choice is marked UNCONFIRMED in the code.

Modules: ``state`` (the in-memory store, one per process, OAs loaded from the applied
tenants and their stored secrets), ``webhooks`` (envelopes, ``X-ZEvent-Signature``, delivery
and Zalo's retry ladder), ``openapi`` (OA API, ZNS, graph), ``oauth`` (consent page, token
endpoint), ``api`` (the control API below), ``page`` + ``static/phone.html`` (the phone).

Control API (JSON; errors are problem+json with a readable ``detail``). An OA is named by its
tenant slug, OA id or app id wherever ``{oa}`` or ``tenant``/``oa_id`` appears:

* ``GET /sim/api/tenants`` — each OA: tenant, oa_id, app_id, secret_key, app_secret,
  webhook_url, webhook_enabled, zns_templates, the current access/refresh token if seeded.
* ``POST /sim/api/send`` ``{tenant|oa_id, user_id?, type, ...}`` — a citizen acts; ``type`` is
  text (``text``), image (``image_url``), file, sticker, location (``latitude``, ``longitude``),
  submit_info (``info{name, phone, city, ward, address}``), follow, unfollow, click
  (``payload`` of an ``oa.query.*`` button), chatnow, seen (``msg_ids``). Optional
  ``display_name``/``phone`` set the citizen's profile. A new user is made when ``user_id`` is
  absent. The event is signed and delivered now; returns ``{user_id, event, status_code,
  response, delivered}``. Failed deliveries are retried in the background like Zalo does.
* ``GET /sim/api/outbox?since=<seq>&user_id=&oa_id=&tenant=&channel=&phone=`` — every message
  accepted from Motcua, oldest first: ``seq, time, tenant, oa_id, channel (cs|zns|template),
  recipient, content, msg_id`` (+ ``tracking_id``, ``template_id``, ``phone`` for ZNS).
* ``GET /sim/api/deliveries?since=&oa_id=&event_name=`` — webhook posts and their attempts.
* ``POST /sim/api/tokens/{oa}`` ``{expires_in?, rotate?}`` — a valid token pair without OAuth.
* ``POST /sim/api/faults`` ``{mode: timeout|5xx|quota|rate_limit|expired_token|null, seconds?,
  count?, endpoints?: [path fragments], oa_id?, delay?}``; ``DELETE /sim/api/faults``.
* ``GET /sim/api/stats`` — per OA (keyed by OA id and by tenant): refresh_calls,
  refresh_errors, code_exchanges, api_calls, sends{cs,zns,template}, rejected{code: n},
  webhook_deliveries, webhook_failures.
* ``POST /sim/api/users`` ``{tenant, user_id?, display_name?, phone?, follows?,
  last_interaction_ago?}`` — make or adjust a citizen without an event (window tests).
* ``GET /sim/api/transcript?oa_id=&user_id=&after=<seq>`` — the chat as the phone shows it.
* ``POST /sim/api/oas/{oa}`` — per-OA switches: webhook_url (null = default
  ``{public_url}/zalo/{tenant}/webhook``), webhook_enabled, echoes, receipts,
  require_appsecret_proof, redirect_uris, admin_phones, no_zalo_phones,
  rate_limit_per_minute, zns_daily_quota, zns_remaining.
* ``POST /sim/api/config`` — access_token_seconds, refresh_token_seconds, webhook_timeout,
  retry_delays, receipt_delay, invalidate_old_access_token.
* ``POST /sim/api/miniapp/login`` and ``/sim/api/miniapp/phone_token`` — what a Mini App's
  ``getAccessToken()``/``getUserInfo()`` and ``getPhoneNumber()`` hand the client.
"""
