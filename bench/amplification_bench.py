"""CPU and memory amplification: what the worst small inputs cost, against a floor.

    .venv/bin/python -m bench.amplification_bench [--only markdown|image]

markdown: headline bodies of the known worst openers (``[``, ``![``, ``*[``, ``[^``) at
2,000, 8,000 and 100,000 characters, rendered by ``feed.bodies.render_markdown`` (with its
deadline lifted, to see the parser's own cost) and, where it is still installed and the size
is small enough to finish, by the old ``markdown`` package. The floor is the same renderer on
prose of the same size; ratios are worst case / floor.
"""

from __future__ import annotations

import argparse
import time

PATTERNS = ["[", "![", "*[", "[^"]
SIZES = [2_000, 8_000, 100_000]
OLD_MAX_SIZE = 8_000  # the old parser needs ~30 min at 100 KB
PROSE = ("Fanhub 的头条文章：**粗体**、*斜体*、[链接](https://example.com)、`代码`。\n\n"
         "A paragraph of English prose with a [link](https://example.com) and some *emphasis*.\n\n")


def _seconds(fn, body: str) -> float:
    start = time.perf_counter()
    fn(body)
    return time.perf_counter() - start


def bench_markdown() -> None:
    from feed.bodies import render_markdown

    def new(body: str) -> str:
        return render_markdown(body, seconds=3600)

    try:
        import markdown

        def old(body: str) -> str:
            return markdown.markdown(body, extensions=["extra", "sane_lists"])
    except ImportError:
        old = None
    print("markdown: seconds per render (deadline lifted); floor = prose of the same size")
    print(f"{'input':>8} {'chars':>8} {'floor':>8} {'new':>8} {'new/floor':>10} {'old':>8} "
          f"{'old/new':>8}")
    for size in SIZES:
        floor = min(_seconds(new, (PROSE * (size // len(PROSE) + 1))[:size]) for _ in range(3))
        for unit in PATTERNS:
            body = unit * (size // len(unit))
            t_new = min(_seconds(new, body) for _ in range(2))
            t_old = _seconds(old, body) if old and size <= OLD_MAX_SIZE else None
            old_cols = (f"{t_old:8.3f} {t_old / t_new:8.0f}" if t_old is not None
                        else f"{'-':>8} {'-':>8}")
            print(f"{unit!r:>8} {size:8,} {floor:8.4f} {t_new:8.3f} {t_new / floor:10.1f} "
                  f"{old_cols}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["markdown", "image"])
    args = parser.parse_args()
    if args.only in (None, "markdown"):
        bench_markdown()


if __name__ == "__main__":
    main()
