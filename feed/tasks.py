"""Celery jobs of the feed package."""
