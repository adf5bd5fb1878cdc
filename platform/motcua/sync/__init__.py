"""Dossier sync: polling change feeds, push intake, reconciliation, the timeline upsert."""
