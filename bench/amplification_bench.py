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
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

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


def _image_child(paths: list[str], lifted: bool, slots: int) -> None:
    """In a fresh process: decode ``paths`` at once (``slots`` at a time), print peak RSS."""
    from app.config import Config
    from media.images import ImageLimits, process_image
    from media.probe import MediaRejected

    config = Config()
    limits = (ImageLimits(max_pixels=10**9, max_decode_bytes=2**40) if lifted else
              ImageLimits(config.IMAGE_MAX_PIXELS, config.IMAGE_MAX_DECODE_MB * 2**20))
    gate = threading.BoundedSemaphore(slots)
    outcomes: list[str] = []

    def one(path: str) -> None:
        with gate, tempfile.TemporaryDirectory() as out:
            try:
                result = process_image(path, out, limits)
                outcomes.append(f"{result.width}x{result.height}")
            except MediaRejected as exc:
                outcomes.append(exc.code)

    threads = [threading.Thread(target=one, args=(p,)) for p in paths]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"peak_mb": peak_mb, "outcomes": outcomes}))


def _run_child(paths: list[Path], lifted: bool = False, slots: int = 8) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.amplification_bench", "--image-child",
                          json.dumps({"paths": [str(p) for p in paths], "lifted": lifted,
                                      "slots": slots})],
                         check=True, capture_output=True, text=True, timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _ffmpeg_image(path: Path, size: str, pix_fmt: str) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"color=c=red:s={size}",
                    "-frames:v", "1", "-pix_fmt", pix_fmt, str(path)], check=True)
    return path


def bench_image() -> None:
    from app.config import Config

    config = Config()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = {
            "640x480 JPEG (floor)": _ffmpeg_image(folder / "small.jpg", "640x480", "yuvj420p"),
            "7000x7000 RGBA PNG": _ffmpeg_image(folder / "big.png", "7000x7000", "rgba"),
            "8200x4100 RGBA PNG": _ffmpeg_image(folder / "wide.png", "8200x4100", "rgba"),
            "8200x4100 JPEG": _ffmpeg_image(folder / "wide.jpg", "8200x4100", "yuvj420p"),
        }
        print(f"image: peak RSS of a child decoding (IMAGE_MAX_PIXELS {config.IMAGE_MAX_PIXELS:,}"
              f", IMAGE_MAX_DECODE_MB {config.IMAGE_MAX_DECODE_MB}, "
              f"IMAGE_DECODE_CONCURRENCY {config.IMAGE_DECODE_CONCURRENCY})")
        floor = _run_child([files["640x480 JPEG (floor)"]])["peak_mb"]
        print(f"{'file':>22} {'KB':>6} {'capped: MB':>11} {'result':>10} {'lifted: MB':>11} "
              f"{'result':>10} {'capped/floor':>13} {'lifted/floor':>13}")
        for name, path in files.items():
            capped = _run_child([path])
            lifted = _run_child([path], lifted=True)
            print(f"{name:>22} {path.stat().st_size // 1024:6} {capped['peak_mb']:11.0f} "
                  f"{capped['outcomes'][0]:>10} {lifted['peak_mb']:11.0f} "
                  f"{lifted['outcomes'][0]:>10} {capped['peak_mb'] / floor:13.1f} "
                  f"{lifted['peak_mb'] / floor:13.1f}", flush=True)
        three = [files["8200x4100 JPEG"]] * 3
        wide_png = [files["8200x4100 RGBA PNG"]] * 3
        for label, paths, lifted in (("3 x 8200x4100 JPEG", three, False),
                                     ("3 x 8200x4100 RGBA PNG", wide_png, True)):
            free = _run_child(paths, lifted=lifted, slots=3)
            gated = _run_child(paths, lifted=lifted, slots=config.IMAGE_DECODE_CONCURRENCY)
            print(f"{label} at once{' (caps lifted)' if lifted else ''}: unbounded "
                  f"{free['peak_mb']:.0f} MB, {config.IMAGE_DECODE_CONCURRENCY} slots "
                  f"{gated['peak_mb']:.0f} MB (floor {floor:.0f} MB)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["markdown", "image"])
    parser.add_argument("--image-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.image_child:
        _image_child(**json.loads(args.image_child))
        return
    if args.only in (None, "markdown"):
        bench_markdown()
    if args.only in (None, "image"):
        bench_image()


if __name__ == "__main__":
    main()
