"""``/dashboard``: a merchant's or influencer's numbers as inline SVG charts plus the figures.

The figures are ``feed.stats.account_stats`` (the same function as ``GET /accounts/me/stats``)
and, for merchants, ``feed.campaigns.results`` (``GET /campaigns/{id}/stats``).
"""

from __future__ import annotations

from flask import redirect, request, url_for

from app.auth import current_account
from app.pages import charts
from app.pages.blueprint import bp
from app.pages.rendering import forbidden, render
from feed import campaigns, stats
from feed.models import Campaign

CHART_POSTS = 12


def _days() -> int:
    try:
        days = int(request.args.get("days", 30))
    except ValueError:
        return 30
    return min(max(days, 1), 365)


def _post_label(post: dict) -> str:
    text = post.get("title") or post.get("text") or post["kind"]
    text = " ".join(text.split())
    return text if len(text) <= 14 else text[:13] + "…"


@bp.get("/dashboard")
def dashboard():
    viewer = current_account()
    if viewer is None:
        return redirect(url_for("pages.login", next="/dashboard"), 303)
    if viewer.kind not in ("merchant", "influencer"):
        return forbidden("数据看板只对商家和达人开放。")
    days = _days()
    figures = stats.account_stats(viewer, days)
    recent = figures["posts"][:CHART_POSTS]
    engagement = [(_post_label(p), p["likes"] + p["comments"]) for p in recent]
    results = [campaigns.results(c) for c in
               Campaign.objects(merchant=viewer.id).order_by("-starts_at").limit(20)] \
        if viewer.kind == "merchant" else []
    return render(
        "dashboard.html",
        days=days,
        figures=figures,
        followers_chart=charts.bars([(d["day"], d["new_followers"])
                                     for d in figures["followers_per_day"]]),
        views_chart=charts.line([(d["day"], d["views"]) for d in figures["views_per_day"]]),
        post_views_chart=charts.hbars([(_post_label(p), p["views"]) for p in recent]),
        engagement_chart=charts.hbars(engagement),
        clicks_chart=charts.hbars([(_post_label(p), p["product_clicks"]) for p in recent]),
        campaign_results=results,
        campaign_chart=charts.hbars([(r["title"][:14], r["entries"]) for r in results]),
    )
