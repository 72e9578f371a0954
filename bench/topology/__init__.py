"""The Procfile topology, run for real: ``python -m bench.topology`` (``make topology``).

A mongoeco wire server, one redis-server, each Procfile line as its own OS process (two
``web``, one ``live``, one ``worker``, ``beat``) behind nginx with sticky Socket.IO sessions;
then the load test through nginx and five faults, each ending in PASS or FAIL. See
``bench/README_proof.md`` (Topology) for what each one shows and the figures.
"""
