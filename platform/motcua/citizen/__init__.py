"""Citizen services: the conversation, lookups, notifications, status page, ratings, procedures,
news, chat utilities and the Zalo Mini App back end.

HTTP and Zalo glue live here (``pages``, ``qr``, ``miniapp``, ``chat``); the rules live in
``motcua.domain.{conversation,notifications,ratings,procedures,news,appointments}``.
"""
