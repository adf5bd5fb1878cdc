"""Motcua adapter family ``push``."""
