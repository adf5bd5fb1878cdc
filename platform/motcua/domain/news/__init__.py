"""News (tin tức) and the FAQ (hỏi đáp) read by citizens: the Mini App, the bot, broadcasts.

The tables (``news``, ``faq``) belong to the staff migration, whose admin console writes them;
this folder only reads what is published.
"""
