"""Realtime factor of the media job on a 60 s 1080p30 clip, with the job's peak memory.

    .venv/bin/python bench/media_realtime.py [--seconds 60] [--kinds natural,phone,compliant]
        [--calibrate default:20 --rounds 2 [--calibrate-only]] [--preset superfast]

Runs the real job (``media.service.process``: fetch the original from local storage, probe,
one ffmpeg run for four rungs + HLS + poster, store every output, mark ready) inside this
process, the way a worker runs it, and samples the resident memory of this process plus its
ffmpeg child every 20 ms. Realtime factor = clip seconds / wall seconds (target >= 1.2x);
also by CPU time (clip seconds / (CPU seconds / 2)): what two otherwise idle cores would give,
the figure that moves least when other processes share the cores. Three sources (see
``media_common.py``): ``natural`` (pan and zoom over a detailed scene, 17 Mb/s, all rungs
encoded), ``phone`` (the very hard ``testsrc2`` pattern, 24 Mb/s, all rungs encoded) and
``compliant`` (already meets the output rules: top rung stream-copied); ``default``
(``testsrc2`` with ffmpeg's default x264 settings, all rungs encoded) is not in the default list.
Other processes' CPU time and the hypervisor's steal during the job are printed (from
``/proc/stat``): the load average also counts the job's own ffmpeg threads.
``--calibrate KIND:SECONDS`` first repeats the issue's hand-written calibration (a split run
against four per-rung runs, taking turns, medians of ``--rounds``); ``--preset`` overrides
``MEDIA_X264_PRESET`` for a trade-off experiment.
The floor, in the same run on the same clip: a minimal hand-written split command (decode
once, four scales, four x264 ``veryfast`` encodes to four MP4s; no HLS, no poster, no keyframe
rules, no bitrate caps).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from media_common import PeakRss, machine_cpu, mb, source


def _cpu() -> float:
    """User + system seconds of this process and its finished children (ffmpeg)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def handwritten(clip: Path, out: Path) -> tuple[float, float]:
    """The floor: one minimal split run, the way one would type it."""
    out.mkdir(parents=True, exist_ok=True)
    graph = ("[0:v]split=4[a][b][c][d];[b]scale=1280:720[b2];[c]scale=854:480[c2];"
             "[d]scale=640:360[d2]")
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(clip), "-filter_complex", graph]
    for label, name in (("[a]", "1080"), ("[b2]", "720"), ("[c2]", "480"), ("[d2]", "360")):
        cmd += ["-map", label, "-map", "0:a", "-c:v", "libx264", "-preset", "veryfast",
                "-c:a", "copy", str(out / f"{name}.mp4")]
    start = time.perf_counter()
    cpu = _cpu()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - start, _cpu() - cpu


def per_rung_handwritten(clip: Path, out: Path) -> tuple[float, float]:
    """Four minimal runs, one per rung, each decoding the source again (the issue's
    calibration: "one split run took 0.79 of the wall time of four runs")."""
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    cpu = _cpu()
    for name, scale in (("1080", []), ("720", ["-vf", "scale=1280:720"]),
                        ("480", ["-vf", "scale=854:480"]), ("360", ["-vf", "scale=640:360"])):
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(clip), *scale,
                        "-c:v", "libx264", "-preset", "veryfast", "-c:a", "copy",
                        str(out / f"{name}.mp4")], check=True)
    return time.perf_counter() - start, _cpu() - cpu


def calibrate(kind: str, seconds: int, rounds: int, out: Path) -> None:
    """The issue's hand-written calibration on a ``seconds`` clip: split run vs four runs,
    taking turns; medians of ``rounds``."""
    clip = source(kind, seconds)
    split, rungs = [], []
    busy, mine = machine_cpu()[0], _cpu()
    start = time.perf_counter()
    for _ in range(rounds):
        split.append(handwritten(clip, out / "split"))
        rungs.append(per_rung_handwritten(clip, out / "rungs"))
    others = max(0.0, machine_cpu()[0] - busy - (_cpu() - mine))
    share = others / (time.perf_counter() - start) / 2
    (s_wall, s_cpu), (r_wall, r_cpu) = _median(split), _median(rungs)
    print(f"calibration, {kind} {seconds} s, hand-written, medians of {rounds}: split run "
          f"{s_wall:.1f} s wall ({seconds / s_wall:.2f}x realtime, {s_cpu:.0f} CPU-s, "
          f"{2 * seconds / s_cpu:.2f}x by CPU); four per-rung runs {r_wall:.1f} s wall "
          f"({r_cpu:.0f} CPU-s); split/four = {s_wall / r_wall:.2f} wall, {s_cpu / r_cpu:.2f} "
          f"CPU (issue: 0.79 wall, 1.39x realtime); other processes {others:.1f} CPU-s "
          f"({share:.0%} of the two cores)")


def _median(values: list[tuple[float, float]]) -> tuple[float, float]:
    return (statistics.median(v[0] for v in values), statistics.median(v[1] for v in values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--kinds", default="natural,phone,compliant")
    parser.add_argument("--calibrate", default="", metavar="KIND:SECONDS",
                        help="first run the issue's hand-written calibration, e.g. default:20")
    parser.add_argument("--rounds", type=int, default=1, help="calibration rounds (medians)")
    parser.add_argument("--calibrate-only", action="store_true")
    parser.add_argument("--preset", default="", help="x264 preset for the job (a trade-off "
                        "experiment; default: MEDIA_X264_PRESET)")
    args = parser.parse_args()
    print(f"load average before {os.getloadavg()[0]:.1f}")
    if args.calibrate:
        kind, seconds = args.calibrate.split(":")
        with tempfile.TemporaryDirectory(prefix="bench-media-cal-") as tmp:
            calibrate(kind, int(seconds), args.rounds, Path(tmp))
        if args.calibrate_only:
            return
    clips = {kind: source(kind, args.seconds) for kind in args.kinds.split(",")}

    from bson import ObjectId

    from app.factory import create_app
    from media import service

    var = Path(tempfile.mkdtemp(prefix="bench-media-rt-"))
    app = None
    try:
        app = create_app(VAR_DIR=str(var), MEDIA_DIR=str(var / "media"),
                         UPLOAD_DIR=str(var / "uploads"), SEARCH_DIR=str(var / "search"),
                         EMBEDDED_WORKER=False, DEMO_DATA=False, SECRET_KEY="bench",
                         **({"MEDIA_X264_PRESET": args.preset} if args.preset else {}))
        with app.app_context():
            options = service.transcode_options()
            print(f"{args.seconds} s 1080p30 clips, four rungs, x264 {options.preset}, "
                  f"{options.threads} threads per encoder, nice {options.nice}, "
                  f"{os.cpu_count()} cores")
            for kind, clip in clips.items():
                media = service._new_media(ObjectId(), "video", clip.name, clip.stat().st_size)
                media.original_key = f"originals/{media.id}/original.mp4"
                copy = var / "original.mp4"
                shutil.copyfile(clip, copy)
                service.storage().put_file(media.original_key, copy, move=True)
                media.save()
                cpu, (busy, steal) = _cpu(), machine_cpu()
                with PeakRss() as memory:
                    start = time.perf_counter()
                    status = service.process(str(media.id))
                    wall = time.perf_counter() - start
                cpu = _cpu() - cpu
                others = machine_cpu()[0] - busy - cpu
                steal = machine_cpu()[1] - steal
                media = service.get(str(media.id))
                assert status == "ready", media.error
                copied = [r.name for r in media.renditions if r.copied]
                floor, floor_cpu = handwritten(clip, var / "handwritten")
                print(f"{kind:9s} rungs {','.join(r.name for r in media.renditions)}"
                      f"{' (copied: ' + ','.join(copied) + ')' if copied else ''} at "
                      f"{'/'.join(str(r.bitrate // 1000) for r in media.renditions)} kb/s: "
                      f"{wall:6.1f} s wall, realtime factor {args.seconds / wall:.2f}x by wall "
                      f"(target >= 1.2x); {cpu:.0f} CPU-s, i.e. {cpu / args.seconds:.2f} CPU-s "
                      f"per second of video, {2 * args.seconds / cpu:.2f}x realtime by CPU on "
                      f"two otherwise idle cores; peak memory worker+ffmpeg {mb(memory.peak)} "
                      f"(worker before the job {mb(memory.baseline)}); hand-written split run "
                      f"{floor:.1f} s ({args.seconds / floor:.2f}x realtime, {floor_cpu:.0f} "
                      f"CPU-s), job/hand-written = {wall / floor:.2f} wall, "
                      f"{cpu / floor_cpu:.2f} CPU; during the job other processes used "
                      f"{max(0.0, others):.1f} CPU-s ({max(0.0, others) / wall / 2:.0%} of the "
                      f"two cores), hypervisor steal {steal:.1f} s; load average "
                      f"{os.getloadavg()[0]:.1f} (counts the job's own ffmpeg threads)")
    finally:
        server = app.extensions.get("redis_server") if app else None
        if server:
            server.stop()
        shutil.rmtree(var, ignore_errors=True)


if __name__ == "__main__":
    main()
