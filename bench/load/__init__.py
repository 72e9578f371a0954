"""The load test: a realistic mix through the production-style server (``make proof``)."""
