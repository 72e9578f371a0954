"""Search benchmark: our embedded engine against raw tantivy on the same index, same run.

Indexes N generated documents (Chinese, English and mixed posts, videos, headlines and
accounts), then runs a mix of queries through

- **ours**: ``EmbeddedEngine.search`` from the query string -- validation and analysis,
  the query (cross-fields, minimum-should-match, filters, audience rules), exact recency
  and popularity rescoring, total count, stored documents, highlighting, the cursor;
- **raw**: tantivy called directly with the same queries -- the same tantivy query,
  built beforehand, run with ``searcher.search`` (top hits and total count) and its stored
  documents read: the engine's own cost for exactly this work;
- **raw-parser** (for reference): tantivy's own query parser given the query's tokens
  (analyzed beforehand: tantivy cannot split Chinese) over the same fields and boosts -- a
  plain OR of terms, cheaper and less precise than the query above.

The three alternate query by query, in every order in turn, so they share the machine's
load and the caches. Reported: indexing docs/s (ours: analysis + write; raw: tantivy
writing the same pre-analyzed documents),
query p50/p99, and ours/raw (targets: p99 under 50 ms, ours/raw at most 1.5).

Run: ``.venv/bin/python bench/search_bench.py [--docs 100000] [--queries 400]``
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tantivy  # noqa: E402

from search import analysis  # noqa: E402
from search.embedded import EmbeddedEngine, build_schema, to_tantivy  # noqa: E402
from search.engine import SearchRequest, Viewer  # noqa: E402
from search.ranking import FIELD_BOOSTS  # noqa: E402

BRANDS_ZH = ["雅诗兰黛", "兰蔻", "迪奥", "香奈儿", "欧莱雅", "资生堂", "完美日记", "花西子",
             "植村秀", "海蓝之谜", "娇韵诗", "科颜氏", "优衣库", "耐克", "阿迪达斯", "李宁"]
BRANDS_EN = ["Estee Lauder", "Lancome", "Dior", "Chanel", "L'Oreal", "Shiseido", "ZARA",
             "Uniqlo", "Nike", "Adidas", "SK-II", "Kiehl's", "MAC", "Sephora", "H&M"]
WORDS_ZH = ["口红", "粉底液", "精华", "面膜", "防晒霜", "眼霜", "香水", "卸妆", "腮红", "眉笔",
            "连衣裙", "外套", "牛仔裤", "运动鞋", "包包", "穿搭", "护肤", "彩妆", "试色", "测评",
            "开箱", "视频", "教程", "分享", "推荐", "新品", "秋季", "冬季", "春季", "夏季",
            "火锅", "咖啡", "旅行", "健身", "瑜伽", "美食", "周末", "打卡", "种草", "拔草"]
FILLER_ZH = ["今天", "我们", "大家", "真的", "非常", "特别", "一起", "看看", "这个", "那个",
             "感觉", "效果", "质地", "颜色", "价格", "性价比", "值得", "入手", "喜欢", "好用",
             "一下", "已经", "还是", "可以", "没有", "因为", "所以", "但是", "而且", "最近"]
WORDS_EN = ["lipstick", "foundation", "serum", "mask", "sunscreen", "perfume", "review",
            "haul", "unboxing", "tutorial", "outfit", "jacket", "sneakers", "skincare",
            "makeup", "new", "collection", "fall", "winter", "spring", "summer", "travel",
            "coffee", "fitness", "yoga", "weekend", "favorite", "best", "daily", "routine",
            "night", "cream", "repair", "glow", "matte", "shade", "swatch", "look", "style"]
PUNCT = ["，", "。", "！", "？", "～", "、", "!", "?", ".", " ", "🔥", "💄", "✨", "😍", "#"]
TAGS = ["护肤", "彩妆", "穿搭", "美食", "旅行", "健身", "开箱", "测评", "种草", "vlog",
        "ootd", "skincare", "makeup", "zara", "新品", "秋冬", "学生党", "平价", "大牌", "好物"]
INTERESTS = ["fitness", "beauty", "fashion", "food", "travel"]


def sentence(rng: random.Random, words: int) -> str:
    """Chinese, English or mixed text, with brands, punctuation and the odd emoji."""
    style = rng.random()
    out = []
    for _ in range(words):
        r = rng.random()
        if style < 0.6:  # Chinese with some Latin brands
            if r < 0.08:
                out.append(rng.choice(BRANDS_EN))
            elif r < 0.2:
                out.append(rng.choice(BRANDS_ZH))
            elif r < 0.55:
                out.append(rng.choice(WORDS_ZH))
            else:
                out.append(rng.choice(FILLER_ZH))
        elif style < 0.8:  # English
            out.append(rng.choice(BRANDS_EN) if r < 0.1 else rng.choice(WORDS_EN))
            out.append(" ")
        else:  # mixed
            out.append(rng.choice(WORDS_ZH + FILLER_ZH + BRANDS_ZH) if r < 0.6
                       else " " + rng.choice(WORDS_EN + BRANDS_EN) + " ")
        if rng.random() < 0.12:
            out.append(rng.choice(PUNCT))
    text = "".join(out)
    if rng.random() < 0.05:  # full-width Latin
        text = text.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})
    return text.strip()


def generate(n: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    accounts = []
    for i in range(max(10, n // 100)):
        brand = rng.choice(BRANDS_EN + BRANDS_ZH)
        accounts.append({
            "doc_type": "account", "id": f"a{i}", "type": "account",
            "kind": rng.choice(["merchant", "influencer"]),
            "username": f"{brand.lower().replace(' ', '_')}_{i}",
            "display_name": f"{brand}{rng.choice(['官方旗舰店', '小助手', ' Official', '达人'])}",
            "bio": sentence(rng, 8), "followers_count": int(rng.paretovariate(1.2) * 100),
            "verified": rng.random() < 0.1, "created_at": now - timedelta(days=rng.randint(1, 900)),
        })
    docs: list[dict] = list(accounts)
    while len(docs) < n:
        author = rng.choice(accounts)
        kind = rng.choices(["post", "video", "headline"], [0.72, 0.16, 0.12])[0]
        audience = None
        if rng.random() < 0.05:
            audience = rng.choice([{"gender": "female"}, {"gender": "male"},
                                   {"interests_any": [rng.choice(INTERESTS)]}])
        docs.append({
            "doc_type": "post", "id": f"p{len(docs)}", "type": kind,
            "author_id": author["id"], "author_username": author["username"],
            "author_name": author["display_name"], "author_kind": author["kind"],
            "title": sentence(rng, rng.randint(3, 8)) if kind == "headline" else "",
            "text": sentence(rng, rng.randint(6, 30)) if kind != "headline" else "",
            "body": " ".join(sentence(rng, 20) for _ in range(rng.randint(8, 25)))
            if kind == "headline" else "",
            "tags": [analysis.normalize_tag(t) for t in rng.sample(TAGS, rng.randint(0, 3))],
            "audience": audience,
            "created_at": now - timedelta(minutes=rng.randint(0, 2 * 365 * 24 * 60)),
        })
    return docs


def query_mix(n: int, seed: int = 11) -> list[dict]:
    """Queries people type, with the options they send."""
    rng = random.Random(seed)
    shapes = [
        lambda: rng.choice(WORDS_ZH),
        lambda: rng.choice(BRANDS_ZH),
        lambda: rng.choice(BRANDS_ZH) + rng.choice(WORDS_ZH),
        lambda: rng.choice(WORDS_EN),
        lambda: rng.choice(WORDS_EN) + " " + rng.choice(WORDS_EN),
        lambda: rng.choice(BRANDS_EN),
        lambda: rng.choice(BRANDS_ZH) + " " + rng.choice(BRANDS_EN),
        lambda: "ＺＡＲＡ " + rng.choice(WORDS_ZH),
        lambda: rng.choice(WORDS_ZH) + "！！🔥",
        lambda: rng.choice(FILLER_ZH) + rng.choice(WORDS_ZH) + rng.choice(FILLER_ZH),
    ]
    queries = []
    for _ in range(n):
        options: dict = {}
        r = rng.random()
        if r < 0.15:
            options["type"] = rng.choice(["posts", "videos", "headlines", "accounts"])
        elif r < 0.22:
            options["tag"] = rng.choice(TAGS)
        elif r < 0.27:
            options["since"] = datetime.now(UTC) - timedelta(days=30)
        if rng.random() < 0.3:
            options["viewer"] = Viewer(f"v{rng.randint(1, 999)}",
                                       rng.choice(["female", "male", None]),
                                       tuple(rng.sample(INTERESTS, 2)))
        queries.append({"q": rng.choice(shapes)(), **options})
    return queries


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def raw_index_rate(docs: list[dict]) -> float:
    """tantivy alone writing the same documents, already analyzed (the floor for ours)."""
    prepared = [to_tantivy(d) for d in docs]  # analysis happens here, outside the timing
    directory = tempfile.mkdtemp(prefix="raw-tantivy-")
    try:
        index = tantivy.Index(build_schema(), path=directory)
        writer = index.writer(heap_size=128_000_000, num_threads=2)
        started = time.perf_counter()
        for doc in prepared:
            writer.add_document(doc)
        writer.commit()
        writer.wait_merging_threads()
        return len(prepared) / (time.perf_counter() - started)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    t0 = time.perf_counter()
    docs = generate(args.docs)
    print(f"generated {len(docs)} documents in {time.perf_counter() - t0:.1f}s", flush=True)

    directory = tempfile.mkdtemp(prefix="search-bench-")
    engine = EmbeddedEngine(directory)
    try:
        started = time.perf_counter()
        engine.recreate(iter(docs))
        ours_rate = len(docs) / (time.perf_counter() - started)
        print(f"ours: indexed at {ours_rate:,.0f} docs/s (analysis + write)", flush=True)
        raw_rate = raw_index_rate(docs)
        print(f"raw tantivy: {raw_rate:,.0f} docs/s (pre-analyzed text)", flush=True)

        index = engine._live()
        fields = list(FIELD_BOOSTS)
        queries = query_mix(args.queries)

        def request(i: int) -> SearchRequest:
            return SearchRequest(analysis.parse_query(queries[i]["q"]), limit=args.limit,
                                 **{k: v for k, v in queries[i].items() if k != "q"})

        # Raw's queries come from a second engine over the same index, so building them
        # does not fill ours' memo of built queries (ours builds its own, as in service).
        builder = EmbeddedEngine(directory)
        prepared = [builder.build_query(request(i)) for i in range(len(queries))]
        parser_texts = [" ".join(f'"{t}"' for t in request(i).query.tokens)
                        for i in range(len(queries))]

        def run_ours(i: int) -> int:
            return len(engine.search(request(i)).hits)

        def run_raw(i: int) -> int:
            searcher = index.searcher()
            result = searcher.search(prepared[i], args.limit, count=True)
            return len([json.loads(searcher.doc(a)["src"][0]) for _, a in result.hits])

        def run_parser(i: int) -> int:
            searcher = index.searcher()
            query = index.parse_query(parser_texts[i], fields, field_boosts=FIELD_BOOSTS)
            result = searcher.search(query, args.limit, count=True)
            return len([json.loads(searcher.doc(a)["src"][0]) for _, a in result.hits])

        runners = {"ours": run_ours, "raw": run_raw, "raw-parser": run_parser}
        for i in range(min(50, len(queries))):  # warm caches for all
            for run in runners.values():
                run(i)
        timings: dict[str, list[float]] = {name: [] for name in runners}
        hits = 0
        # Every order of the three in turn: each path runs before each other path on half
        # the queries (the second to read a query's postings and documents finds them in
        # cache; a plain rotation would let raw follow ours on two queries in three).
        orders = list(itertools.permutations(runners))
        for i in range(len(queries)):
            for name in orders[i % len(orders)]:
                started = time.perf_counter()
                found = runners[name](i)
                timings[name].append((time.perf_counter() - started) * 1000)
                if name == "ours":
                    hits += found
        figures = {
            "documents": len(docs),
            "queries": len(queries),
            "index_docs_per_s": {"ours": round(ours_rate), "raw": round(raw_rate)},
            "query_ms": {name: {"p50": round(percentile(t, 50), 2),
                                "p99": round(percentile(t, 99), 2),
                                "mean": round(statistics.fmean(t), 2)}
                         for name, t in timings.items()},
            "avg_hits_per_query": round(hits / len(queries), 1),
        }
        q = figures["query_ms"]
        figures["ours_over_raw"] = {p: round(q["ours"][p] / q["raw"][p], 2)
                                    for p in ("p50", "p99")}
        figures["ours_over_raw_parser"] = {p: round(q["ours"][p] / q["raw-parser"][p], 2)
                                           for p in ("p50", "p99")}
        print(f"queries: {len(queries)} (top {args.limit}, avg {hits / len(queries):.1f} hits)")
        for name in runners:
            print(f"  {name:10s} p50 {q[name]['p50']:6.2f} ms   p99 {q[name]['p99']:6.2f} ms   "
                  f"mean {q[name]['mean']:6.2f} ms")
        ratio = figures["ours_over_raw"]
        print(f"  ours/raw: p50 x{ratio['p50']:.2f}, p99 x{ratio['p99']:.2f}   "
              f"(ours/raw-parser: p50 x{figures['ours_over_raw_parser']['p50']:.2f}, "
              f"p99 x{figures['ours_over_raw_parser']['p99']:.2f})")
        print(f"targets: p99 < 50 ms: {'yes' if q['ours']['p99'] < 50 else 'NO'}; "
              f"our layer adds <= 50%: "
              f"{'yes' if max(ratio.values()) <= 1.5 else 'NO'}")
        if args.json:
            Path(args.json).write_text(json.dumps(figures, indent=2))
    finally:
        engine.close()
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
