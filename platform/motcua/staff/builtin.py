"""Registers this part's hooks. Filled in as the part is built."""

from motcua.plugins import hookimpl  # noqa: F401
