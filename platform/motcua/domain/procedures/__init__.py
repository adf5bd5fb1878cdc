"""The procedure catalogue (thủ tục hành chính) per tenant: ranked, accent-insensitive and
typo-tolerant search, and the procedure card (papers, fees, processing time, agency, online).

Rows are written by the sync part's catalogue upsert (``procedure`` with ``search_key``); this
folder only reads them.
"""
