"""The follow graph, posts, interactions, fan-out and timelines.

Start with ``fanout.py`` (publishing) and ``timeline.py`` (reading a feed); ``hydrate.py``
turns ids into the contract's JSON for one viewer, ``cache.py`` names every Redis key.
"""
