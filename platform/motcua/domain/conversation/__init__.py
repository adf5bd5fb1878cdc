"""The conversation (hội thoại) a citizen has with the province's Official Account: what they
typed is understood (``intents``), answered in short kind Vietnamese (``replies``), and anything
not understood is handed to a person (``service.hand_over``) rather than answered wrongly.

The Zalo channel calls ``service.handle_text`` through the ``motcua_register_chat`` hook; HTTP
and Zalo wire formats stay out of this folder.
"""
