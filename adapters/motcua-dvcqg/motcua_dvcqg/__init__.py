"""Motcua adapter family ``dvcqg``."""
