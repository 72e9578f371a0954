"""The follow graph, posts, interactions, fan-out and timelines.

Start with ``fanout.py`` (publishing) and ``timeline.py`` (reading a feed); ``hydrate.py``
turns ids into the contract's JSON for one viewer, ``cache.py`` names every Redis key.

The modules import one way. From the bottom: ``models``, ``cache`` and the other leaves
(``schemas``, ``audience``, ``stamps``, ``planning``, ``rank``, ``bodies``); ``graph`` (who
follows and blocks whom); ``visibility``, ``notifications`` and ``segments``; ``hydrate``,
with the live ``subscriptions`` and ``live_events`` over it; ``fanout`` then ``timeline``,
with ``pagecache``, ``channels`` and the discovery feeds over them; ``posts``; then what acts
on posts and people (``mentions``, ``follows``, ``interactions``) and over those ``stats``,
``campaigns`` and ``cleanup``. The views (``*api.py``), ``tasks`` and ``cli`` sit on top, and
``setup`` wires signals and hooks into the app: a lower module reaches a higher one only
through those.
"""
