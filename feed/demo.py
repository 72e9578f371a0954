"""A believable demo: brands and influencers with Chinese and English names, a thousand fans,
follows, posts, headlines, tags and audience-targeted posts.

Written in bulk with one shared password hash (``demo password``), so it loads in seconds
even on the embedded store. Idempotent: an existing demo is left alone.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from bson import ObjectId
from tqdm import tqdm

from app import signals
from app.accounts.models import Account, Profile
from app.accounts.service import hash_password, username_key
from app.times import utcnow
from feed.bodies import render_markdown
from feed.models import Audience, Follow, Post, Product

DEMO_PASSWORD = "demo password"
CHUNK = 100

BRANDS = [
    ("lancome_cn", "兰蔻 Lancôme", "法式美妆，官方旗舰账号", "female"),
    ("esteelauder_cn", "雅诗兰黛 Estée Lauder", "雅诗兰黛官方账号：小棕瓶、面霜与彩妆", "female"),
    ("zara_cn", "ZARA", "ZARA 中国官方账号 · 新品速递", None),
    ("uniqlo_cn", "优衣库 UNIQLO", "LifeWear 服适人生", None),
    ("nike_cn", "耐克 Nike", "Just Do It. 运动与潮流", "male"),
    ("xiaomi_store", "小米 Xiaomi", "为发烧而生：手机、家电与生态链", "male"),
]
INFLUENCERS = [
    ("xiaoya_beauty", "美妆达人小雅", "每天分享平价好物和化妆教程"),
    ("leo_style", "Fashion Leo", "Menswear, suits and street style"),
    ("ajie_fit", "健身教练阿杰", "居家训练与减脂饮食"),
    ("mia_travels", "旅行者Mia", "Travel vlogs · 旅行视频与攻略"),
]
POSTS = [
    ("新品上市！这个秋天的第一支口红，你选哪个色号？", ["口红", "新品"], {"gender": "female"}),
    ("双11预售开启，会员专享折扣今晚零点开始", ["双11", "优惠"], None),
    ("New arrivals: tailored suits for the office, now in store", ["suits", "menswear"],
     {"gender": "male"}),
    ("粉丝福利：转发评论抽三位送正装小样", ["福利"], None),
    ("How we make our bestselling serum, behind the scenes", ["skincare"], None),
    ("连衣裙合集｜约会、通勤、度假一次配齐", ["连衣裙", "穿搭"], {"gender": "female"}),
    ("跑鞋实测：十公里之后脚感如何？", ["跑步", "运动"], {"interests_any": ["sports"]}),
    ("直播预告：本周五晚八点，带你逛新品发布会", ["直播"], None),
]
HEADLINES = [
    ("雅诗兰黛小棕瓶十年：一瓶精华的配方进化史",
     "从第一代到第七代，**小棕瓶**经历了哪些变化？本文整理了历代配方与口碑。\n\n"
     "- 修护\n- 抗老\n- 保湿"),
    ("Why fans make the best brand ambassadors",
     "Fan videos earn *more trust* than ads. We looked at 300 campaigns."),
    ("秋冬穿搭指南：一件大衣的五种搭配", "大衣是秋冬衣橱的核心单品。"),
]
INTERESTS = ["beauty", "fashion", "sports", "travel", "tech", "food"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ["小美", "晓雪", "子涵", "一诺", "欣怡", "浩然", "子轩", "宇航", "梓萱", "思远"]


def load_demo(fans: int = 1000, progress: bool = True) -> dict[str, Any]:
    if Account.objects(username_key="lancome_cn").first() is not None:
        return {"already loaded": 1}
    rng = random.Random(7)
    password_hash = hash_password(DEMO_PASSWORD)
    now = utcnow()
    bar = tqdm(total=5, desc="demo data", disable=not progress, unit="step")

    def account(username: str, name: str, kind: str, bio: str = "", profile=None) -> Account:
        return Account(username=username, username_key=username_key(username),
                       password_hash=password_hash, display_name=name, kind=kind, bio=bio,
                       profile=profile or Profile(), verified=kind != "fan",
                       created_at=now - timedelta(days=rng.randint(20, 400)))

    authors = [account(u, n, "merchant", b) for u, n, b, _ in BRANDS]
    authors += [account(u, n, "influencer", b) for u, n, b in INFLUENCERS]
    fan_docs = []
    for i in range(fans):
        gender = rng.choice(["female", "female", "male", None])
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) if i % 3 else f"fan{i:04d}"
        fan_docs.append(account(f"fan{i:04d}", name, "fan", profile=Profile(
            gender=gender, interests=rng.sample(INTERESTS, 2))))
    for doc in authors + fan_docs:
        doc.id = ObjectId()
    bar.update()

    # Counts are known before anything is written: one bulk insert per collection.
    follows = []
    for fan in fan_docs:
        chosen = rng.sample(authors, rng.randint(1, 4))
        fan.following_count = len(chosen)
        for author in chosen:
            author.followers_count += 1
            follows.append(Follow(follower=fan.id, followee=author.id,
                                  created_at=now - timedelta(days=rng.randint(0, 29),
                                                             minutes=rng.randint(0, 1440))))
    bar.update()
    # In chunks: the embedded store serializes writes, and requests go on between chunks.
    accounts = [a.to_mongo() for a in authors + fan_docs]
    for i in range(0, len(accounts), CHUNK):
        Account._get_collection().insert_many(accounts[i:i + CHUNK])
    for i in range(0, len(follows), CHUNK):
        Follow.objects.insert(follows[i:i + CHUNK], load_bulk=False)
    bar.update()

    posts = []
    for author in authors:
        for text, tags, rule in rng.sample(POSTS, 5):
            products = []
            if author.kind == "merchant":
                products = [Product(title=f"{author.display_name} 精选", price="¥299",
                                    url=f"https://shop.example.com/{author.username}/1")]
            posts.append(Post(author=author.id, author_kind=author.kind, kind="post", text=text,
                              tags=tags, audience=Audience(**rule) if rule else None,
                              products=products,
                              created_at=now - timedelta(hours=rng.randint(1, 24 * 14))))
    for index, (title, body) in enumerate(HEADLINES):
        author = authors[index % len(authors)]
        posts.append(Post(author=author.id, author_kind=author.kind, kind="headline",
                          text=title, title=title, body=body, body_html=render_markdown(body),
                          tags=["深度"], created_at=now - timedelta(hours=rng.randint(1, 48))))
    for author in authors:
        Account.objects(id=author.id).update_one(
            set__posts_count=sum(1 for p in posts if p.author == author.id))
    Post.objects.insert(posts, load_bulk=False)
    bar.update()
    for post in Post.objects:
        signals.post_saved.send(post, before=None)  # channels and search pick them up
    bar.update()
    bar.close()
    return {"accounts": len(authors) + len(fan_docs), "follows": len(follows),
            "posts": len(posts)}
