"""Proactive notifications (thông báo) to citizens from dossier timeline events, by the rules in
the tenant file's ``[notifications]`` (events, quiet hours, templates).

A subscriber (hook ``motcua_register_subscribers``) turns each new timeline event into one
``notifications.send`` job per subscribed citizen, deduplicated per event per citizen and
delayed to the end of quiet hours (never dropped). The job hands the message to the Zalo
channel's outbox, which picks the cheapest allowed channel (reply window, else ZNS).
"""
