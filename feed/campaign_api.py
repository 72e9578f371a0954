"""REST routes of fan video campaigns (under /api/v1)."""

from app.api import Blueprint

bp = Blueprint("campaigns", __name__, description="Fan video campaigns")
