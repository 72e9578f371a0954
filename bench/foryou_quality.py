"""For-you ranking quality on a synthetic population with planted tastes.

    .venv/bin/python -m bench.foryou_quality [--fans 10000] [--authors 500] [--posts 50000]
                                             [--evaluate 2000] [--seed 7]

Five weeks: four to learn from, one held out. Authors write mostly about their own tags;
fans have two or three favourite tags (half declare one in their profile), follow some
authors (mostly of their tastes), and act (view, like, comment, click a product) on posts
drawn from their tastes, their follows and a little noise. For a sample of fans the three
rankings of the held-out week's posts are scored against what each fan really engaged with
that week: ours (``feed.rank.rank`` over ``feed.rank`` candidates, the code the endpoint
runs), reverse-chronological posts of followed authors, and global popularity. Post
engagement (views, likes, comments) comes from the other fans only, so no fan's own answers
leak into its ranking. Prints precision@20 and nDCG@20 and ours / the better baseline.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import math
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass

from tqdm import tqdm

from feed import rank as ranking

WEEK = 7 * 86400.0
START = ranking.EPOCH + 300 * 86400.0  # late October 2026
TAGS = [f"t{n:02d}" for n in range(40)]
ACTIONS = (("viewed", 0.60), ("liked", 0.28), ("commented", 0.07), ("clicked_product", 0.05))
GAIN = {"viewed": 1, "liked": 2, "commented": 3, "clicked_product": 3}
K = 20


@dataclass
class Post:
    id: str
    author: int
    tags: tuple[str, ...]
    created: float
    quality: float


def _pick(rng: random.Random, items: list, weights: list[float]):
    return rng.choices(items, weights)[0]


class Picker:
    """Weighted choice from a fixed pool, cumulative weights computed once."""

    def __init__(self, items: list, weights: list[float]) -> None:
        self.items = items
        self.cum = list(itertools.accumulate(weights))

    def __call__(self, rng: random.Random):
        return self.items[bisect.bisect_left(self.cum, rng.random() * self.cum[-1])]


def build(args) -> dict:
    rng = random.Random(args.seed)
    authors = []
    for _ in range(args.authors):
        main = rng.choice(TAGS)
        second = rng.choice(TAGS) if rng.random() < 0.4 else main
        authors.append({"main": main, "second": second, "quality": rng.lognormvariate(0, 0.6),
                        "activity": rng.lognormvariate(0, 0.8)})
    weeks = 5
    posts: list[Post] = []
    pick_author = Picker(list(range(args.authors)), [a["activity"] for a in authors])
    for n in tqdm(range(args.posts), desc="posts", mininterval=1):
        a = pick_author(rng) if n % 1000 else rng.randrange(args.authors)
        author = authors[a]
        roll = rng.random()
        tag = author["main"] if roll < 0.75 else author["second"] if roll < 0.9 else rng.choice(
            TAGS)
        tags = (tag,) if rng.random() < 0.7 else (tag, rng.choice(TAGS))
        created = START + rng.random() * weeks * WEEK
        posts.append(Post(f"p{n}", a, tuple(dict.fromkeys(tags)), created,
                          author["quality"] * rng.lognormvariate(0, 0.5)))
    by_week_tag: dict[tuple[int, str], list[Post]] = defaultdict(list)
    by_week_author: dict[tuple[int, int], list[Post]] = defaultdict(list)
    for p in posts:
        week = int((p.created - START) // WEEK)
        for tag in p.tags:
            by_week_tag[(week, tag)].append(p)
        by_week_author[(week, p.author)].append(p)
    authors_by_tag: dict[str, list[int]] = defaultdict(list)
    for a, author in enumerate(authors):
        authors_by_tag[author["main"]].append(a)
    fans = []
    for _ in tqdm(range(args.fans), desc="fans", mininterval=1):
        favourites = rng.sample(TAGS, rng.choice((2, 2, 3)))
        weights = [rng.random() + 0.3 for _ in favourites]
        follows = set()
        for _ in range(rng.randint(3, 15)):
            if rng.random() < 0.7:
                pool = authors_by_tag[_pick(rng, favourites, weights)] or [rng.randrange(
                    args.authors)]
                follows.add(_pick(rng, pool, [authors[a]["quality"] for a in pool]))
            else:
                follows.add(rng.randrange(args.authors))
        fans.append({"tags": favourites, "weights": weights, "follows": follows,
                     "declared": [favourites[0]] if rng.random() < 0.5 else [],
                     "events": []})
    names, shares = zip(*ACTIONS)
    tag_pickers = {key: Picker(pool, [p.quality for p in pool])
                   for key, pool in by_week_tag.items()}
    for fan in tqdm(fans, desc="interactions", mininterval=1):
        for week in range(weeks):
            followed = [p for a in fan["follows"] for p in by_week_author.get((week, a), ())]
            pick_followed = Picker(followed, [p.quality for p in followed]) if followed else None
            for _ in range(rng.randint(3, 15)):
                if pick_followed is not None and rng.random() < 0.3:
                    post = pick_followed(rng)
                else:
                    tag = (_pick(rng, fan["tags"], fan["weights"]) if rng.random() < 0.88
                           else rng.choice(TAGS))
                    picker = tag_pickers.get((week, tag))
                    if picker is None:
                        continue
                    post = picker(rng)
                action = _pick(rng, list(names), list(shares))
                at = min(post.created + rng.expovariate(1 / 43200.0), START + weeks * WEEK - 1)
                fan["events"].append((at, post, action))
    return {"authors": authors, "posts": posts, "fans": fans, "now": START + 4 * WEEK,
            "end": START + weeks * WEEK}


def evaluate(data: dict, sample: int, seed: int) -> dict:
    rng = random.Random(seed + 1)
    fans, posts = data["fans"], data["posts"]
    now, end = data["now"], data["end"]
    held_posts = [p for p in posts if now <= p.created < end]
    evaluated = [n for n in rng.sample(range(len(fans)), min(sample * 2, len(fans)))
                 if any(at >= now for at, _, _ in fans[n]["events"])][:sample]
    judged = set(evaluated)
    # what the crowd (the other fans) did with the held-out week's posts: unique counts
    seen_by: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    for n, fan in enumerate(fans):
        if n in judged:
            continue
        for at, post, action in fan["events"]:
            if at >= now:
                key = {"viewed": "views", "liked": "likes", "commented": "comments"}.get(action)
                if key:
                    seen_by[post.id][key].add(n)
                seen_by[post.id]["views"].add(n)
    counts = {pid: {k: len(v) for k, v in d.items()} for pid, d in seen_by.items()}
    score_at = end  # the week is ranked as it stands at its end

    def candidate(p: Post, source: str) -> ranking.Candidate:
        c = counts.get(p.id, {})
        return ranking.Candidate(p.id, str(p.author), p.tags, p.created, c.get("views", 0),
                                 c.get("likes", 0), c.get("comments", 0), source)

    popular = sorted(held_posts, key=lambda p: (-sum(counts.get(p.id, {}).values()), p.id))
    trending = sorted(held_posts, key=lambda p: -candidate(p, "trending").engagement
                      / max(1.0, (score_at - p.created) / 3600))[:300]
    freshest = sorted(held_posts, key=lambda p: -p.created)[:300]
    by_tag: dict[str, list[Post]] = defaultdict(list)
    by_author: dict[int, list[Post]] = defaultdict(list)
    for p in held_posts:
        for tag in p.tags:
            by_tag[tag].append(p)
        by_author[p.author].append(p)
    for pool in by_tag.values():
        pool.sort(key=lambda p: -p.created)

    results = {name: {"p": [], "ndcg": []} for name in ("ours", "following", "popular")}
    for n in tqdm(evaluated, desc="ranking", mininterval=1):
        fan = fans[n]
        gains: dict[str, int] = {}
        for at, post, action in fan["events"]:
            if at >= now and now <= post.created < end:
                gains[post.id] = max(gains.get(post.id, 0), GAIN[action])
        if not gains:
            continue
        # what the fan taught us before the held-out week (the endpoint keeps these in Redis)
        tags: Counter = Counter()
        authors: Counter = Counter()
        seen = set()
        for at, post, action in fan["events"]:
            if at < now:
                weight = ranking.learned(ranking.ACTION_WEIGHTS[action], at)
                for tag in post.tags:
                    tags[tag] += weight
                authors[str(post.author)] += weight
                seen.add(post.id)
        for a in fan["follows"]:
            authors[str(a)] += ranking.learned(ranking.ACTION_WEIGHTS["followed"], now - WEEK)
        factor = ranking.growth(score_at)
        taste = ranking.ViewerTaste(
            tags=ranking.with_declared({t: v / factor for t, v in tags.items()},
                                       fan["declared"], score_at),
            authors={a: v / factor for a, v in authors.items()},
            following={str(a) for a in fan["follows"]}, seen=seen)
        top_tags = [t for t, _ in sorted(taste.tags.items(), key=lambda kv: -kv[1])[:5]]
        pools = [[candidate(p, "followed") for a in fan["follows"] for p in by_author.get(a, ())],
                 [candidate(p, "interest") for t in top_tags for p in by_tag[t][:200]],
                 [candidate(p, "trending") for p in trending],
                 [candidate(p, "fresh") for p in freshest]]
        ours = [r.id for r in ranking.rank(ranking.gather(*pools), taste, score_at, K)]
        following = [p.id for p in sorted(
            (p for a in fan["follows"] for p in by_author.get(a, ())),
            key=lambda p: -p.created)[:K]]
        popular_ids = [p.id for p in popular[:K]]
        for name, ids in (("ours", ours), ("following", following), ("popular", popular_ids)):
            results[name]["p"].append(sum(1 for i in ids[:K] if i in gains) / K)
            dcg = sum(gains.get(i, 0) / math.log2(r + 2) for r, i in enumerate(ids[:K]))
            ideal = sorted(gains.values(), reverse=True)[:K]
            idcg = sum(g / math.log2(r + 2) for r, g in enumerate(ideal))
            results[name]["ndcg"].append(dcg / idcg if idcg else 0.0)
    return {name: {k: sum(v) / len(v) for k, v in r.items()} for name, r in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fans", type=int, default=10_000)
    parser.add_argument("--authors", type=int, default=500)
    parser.add_argument("--posts", type=int, default=50_000)
    parser.add_argument("--evaluate", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    started = time.perf_counter()
    data = build(args)
    scores = evaluate(data, args.evaluate, args.seed)
    print(f"\n{args.fans} fans, {args.authors} authors, {args.posts} posts, "
          f"{args.evaluate} fans evaluated on the held-out week "
          f"({time.perf_counter() - started:.0f} s)")
    print(f"{'ranking':<12}{'precision@20':>14}{'nDCG@20':>10}")
    for name, label in (("ours", "ours"), ("following", "following"), ("popular", "popularity")):
        print(f"{label:<12}{scores[name]['p']:>14.4f}{scores[name]['ndcg']:>10.4f}")
    best = max(scores["following"]["ndcg"], scores["popular"]["ndcg"])
    ratio = scores["ours"]["ndcg"] / best if best else float("inf")
    print(f"nDCG@20 ours / better baseline: {ratio:.2f}x (goal >= 1.5x)")


if __name__ == "__main__":
    main()
