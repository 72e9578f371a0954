"""REST routes of the feed package (under /api/v1)."""

from app.api import Blueprint

bp = Blueprint("feed", __name__)
