"""Online submission from Zalo, the web side: the mobile form opened from a signed Zalo link,
photo uploads, the result page with the receipt, and the postal-delivery request. Domain rules
live in ``motcua.domain.submissions``, ``motcua.domain.files`` and ``motcua.domain.postal``."""
