"""Deleting an account's content with the account (the app stores require it)."""

from __future__ import annotations

from app.accounts.models import Account
from app.extensions import redis_client
from feed import cache, graph
from feed.hydrate import forget
from feed.models import Block, Comment, Follow, Like, Notification, Post
from feed.posts import remove


def delete_account_content(account: Account) -> None:
    for post in Post.objects(author=account.id):
        remove(post)
    for follow in Follow.objects(follower=account.id):
        graph.drop_follow(account.id, follow.followee)
    for follow in Follow.objects(followee=account.id):
        graph.drop_follow(follow.follower, account.id)
    for like in Like.objects(account=account.id):
        Post.objects(id=like.post).update_one(dec__like_count=1)
        forget(like.post)
    Like.objects(account=account.id).delete()
    for comment in Comment.objects(author=account.id, status="published"):
        Post.objects(id=comment.post).update_one(dec__comment_count=1)
        forget(comment.post)
    Comment.objects(author=account.id).delete()
    Notification.objects(actor=account.id).delete()
    Notification.objects(account=account.id).delete()
    Block.objects(account=account.id).delete()
    Block.objects(target=account.id).delete()
    redis_client.delete(cache.timeline_key(account.id), cache.following_key(account.id),
                        cache.followers_key(account.id), cache.recent_key(account.id),
                        cache.hidden_key(account.id), cache.liked_key(account.id))
    redis_client.srem(cache.BIG_AUTHORS, str(account.id))
