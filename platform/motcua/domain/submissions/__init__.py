"""Online submission (nộp hồ sơ trực tuyến) from Zalo: the procedure's form (``forms``), signed
form links (``links``), drafts, photos of papers, sending to the one-stop system and the
electronic receipt (``service``). HTTP pages live in ``motcua.submission``."""
