"""The merchant's numbers: followers per day, views, engagement and product clicks per post.

Unique views are flushed from the Redis sketches first, so the figures agree with the counts
the API shows at that moment.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from app.accounts.models import Account
from app.times import iso, utcnow
from feed.interactions import flush_views, recent_days
from feed.models import DailyViews, Follow, Post


def account_stats(account: Account, days: int) -> dict[str, Any]:
    flush_views()
    since = utcnow() - timedelta(days=days)
    day_list = recent_days(days)
    follows = Counter(f.created_at.strftime("%Y-%m-%d") for f in
                      Follow.objects(followee=account.id, created_at__gte=since).only("created_at"))
    views = Counter()
    for row in DailyViews.objects(author=account.id, day__gte=day_list[0]):
        views[row.day] += row.views
    posts = []
    totals = Counter()
    for post in Post.objects(author=account.id).order_by("-created_at"):
        clicks = [p.clicks for p in post.products]
        posts.append({
            "id": str(post.id), "kind": post.kind, "title": post.title,
            "text": (post.text or "")[:80], "status": post.status,
            "created_at": iso(post.created_at), "views": post.view_count,
            "likes": post.like_count, "comments": post.comment_count,
            "product_clicks": sum(clicks), "clicks_per_product": clicks,
        })
        totals.update(views=post.view_count, likes=post.like_count,
                      comments=post.comment_count, product_clicks=sum(clicks))
    return {
        "days": days,
        "followers_per_day": [{"day": d, "new_followers": follows.get(d, 0)} for d in day_list],
        "views_per_day": [{"day": d, "views": views.get(d, 0)} for d in day_list],
        "posts": posts,
        "totals": {"followers": account.followers_count, "posts": len(posts),
                   "views": totals["views"], "likes": totals["likes"],
                   "comments": totals["comments"], "product_clicks": totals["product_clicks"],
                   "new_followers": sum(follows.values())},
    }
