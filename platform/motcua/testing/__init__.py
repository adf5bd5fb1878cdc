"""Test support shipped with the core: database fixtures and the adapter conformance suite."""
