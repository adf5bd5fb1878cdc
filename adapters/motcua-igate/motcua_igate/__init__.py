"""Motcua adapter family ``igate``: VNPT iGate-style REST/JSON behind a provincial gateway."""
