"""Moderation: term rules, spam rules, reports, the review queue, decisions and audit.

``setup.init_app`` plugs moderation into publishing: ``service.screen_content`` is
registered as the one screen of every user text (``app.screening``: block terms refuse,
review terms and spam hold) and ``content_held`` queues what is held.
"""
