"""Celery jobs of the moderation package."""
