"""Tenant files (one province each): schema, loading and validation, applying to the database."""
