"""Motcua adapter family ``declarative``."""
