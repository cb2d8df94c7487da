"""The model interface: what a backend plugin implements and what nodes and judges call.

``backend.py`` is the base a backend plugin subclasses (with its two error kinds),
``image_urls.py`` the image parts of OpenAI-style messages, and ``caller.py`` the protocol of
the model client that nodes and judges are handed (the engine's client satisfies it).
"""
