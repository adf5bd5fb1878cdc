"""Citizen services: the conversation, lookups, notifications, status page, ratings, procedures,
news, chat utilities and the Zalo Mini App back end."""
