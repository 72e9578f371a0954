"""Transcode pipeline vs a plain ffmpeg command, and vs one ffmpeg run per rung.

    .venv/bin/python bench/media_transcode.py [--seconds 20] [--repeat 1] [--kinds phone,natural]

Same input for every variant (a 1080p30 H.264 source whose bitrate is above the top rung's
cap, so all four rungs are encoded; ``phone`` is the hard ``testsrc2`` clip, ``natural`` the
pan-and-zoom one, see ``media_common.py``), same machine, same run:

- ours:     media.probe.probe + media.transcode.transcode (one ffmpeg run, split + tee,
            progress parsing, nice, ffprobe of the outputs, master playlist);
- previous: ours with every rung scaled from the source (the pipeline before the cascade
            1080 > 720 > 480 > 360);
- plain:    the very same ffmpeg arguments run bare: the floor for "one ffmpeg command that
            produces the same outputs" (target: ours / plain <= 1.10);
- per-rung: four hand-written ffmpeg runs, one per rung (each decodes the source again),
            the PeerTube way (target: per-rung / ours >= 1.2).

Every variant runs at the same niceness as ours, and the variants take turns, so load from
other processes hits them alike; the best of ``--repeat`` rounds is kept.

Then the passthrough: a source that already meets the output rules, with and without
stream-copying its top rung.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from media_common import source

from media.probe import probe
from media.transcode import Options, build_command, plan_ladder, transcode


def run_ours(src: Path, out: Path, options: Options) -> float:
    start = time.perf_counter()
    transcode(probe(src), out, options)
    return time.perf_counter() - start


def run_plain(src: Path, out: Path, options: Options) -> float:
    info = probe(src)
    rungs = plan_ladder(info, options)
    args = build_command(info, rungs, options)
    args = [a for a in args if a not in ("-progress", "pipe:1")]
    if out.exists():
        shutil.rmtree(out)
    for rung in rungs:
        (out / "hls" / rung.name).mkdir(parents=True)
    start = time.perf_counter()
    subprocess.run(NICE(options) + args, cwd=out, check=True, stdin=subprocess.DEVNULL)
    return time.perf_counter() - start


def NICE(options: Options) -> list[str]:  # noqa: N802 - every variant runs at our niceness
    return ["nice", "-n", str(options.nice)] if options.nice else []


RUNGS = [("1080p", 1920, 1080, "5000k", "10000k"), ("720p", 1280, 720, "2800k", "5600k"),
         ("480p", 854, 480, "1400k", "2800k"), ("360p", 640, 360, "800k", "1600k")]


def per_rung_commands(src: Path, threads: int, preset: str) -> list[list[str]]:
    """One ffmpeg per rung, written by hand: decode, fps, scale, x264 + AAC, MP4 + HLS."""
    commands = []
    for index, (name, w, h, maxrate, bufsize) in enumerate(RUNGS):
        graph = f"[0:v]fps=30,scale={w}:{h},setsar=1,format=yuv420p[v]"
        if index == 0:  # the top run also writes the poster
            graph = (f"[0:v]fps=30,split=2[a][b];[a]scale={w}:{h},setsar=1,format=yuv420p[v];"
                     f"[b]trim=start=1,scale={w}:{h}[p]")
        cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-threads", str(threads),
               "-i", str(src), "-filter_complex", graph,
               "-map", "[v]", "-map", "0:a:0", "-c:v", "libx264", "-preset", preset,
               "-crf", "23", "-profile:v", "high", "-maxrate", maxrate, "-bufsize", bufsize,
               "-g", "60", "-keyint_min", "60", "-sc_threshold", "0",
               "-force_key_frames", "expr:gte(t,n_forced*2)", "-c:a", "copy",
               "-threads", str(threads), "-flags", "+global_header", "-f", "tee",
               f"[f=mp4:movflags=+faststart]{name}.mp4|[f=hls:hls_time=2:hls_playlist_type=vod:"
               f"hls_segment_filename=hls/{name}/seg_%05d.ts]hls/{name}/index.m3u8"]
        if index == 0:
            cmd += ["-map", "[p]", "-frames:v", "1", "-update", "1", "poster.jpg"]
        commands.append(cmd)
    return commands


def run_per_rung(src: Path, out: Path, options: Options) -> float:
    if out.exists():
        shutil.rmtree(out)
    for name, *_ in RUNGS:
        (out / "hls" / name).mkdir(parents=True)
    start = time.perf_counter()
    for cmd in per_rung_commands(src, options.threads, options.preset):
        subprocess.run(NICE(options) + cmd, cwd=out, check=True)
    return time.perf_counter() - start


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def interleaved(variants: dict, repeat: int) -> dict[str, tuple[float, float]]:
    """Best (wall, CPU) seconds of each variant, the variants taking turns so that load
    from other processes hits them alike. CPU is the ffmpeg children's user+system time:
    unlike wall time it barely moves when other processes compete for the cores."""
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    names = list(variants)
    for round_ in range(repeat):
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:
            fn, *args = variants[name]
            cpu = _child_cpu()
            wall = fn(*args)
            times[name].append((wall, _child_cpu() - cpu))
    return {name: (min(w for w, _ in values), min(c for _, c in values))
            for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--kinds", default="phone", help="comma-separated: phone, natural")
    args = parser.parse_args()
    options = Options()
    previous = Options(cascade=False)
    compliant = source("compliant", args.seconds)
    with tempfile.TemporaryDirectory(prefix="bench-media-") as tmp:
        out = Path(tmp) / "out"
        print(f"{args.seconds} s 1080p30, x264 {options.preset}, "
              f"{options.threads} threads, best of {args.repeat}")
        for kind in args.kinds.split(","):
            clip = source(kind, args.seconds)
            print(f"source {kind}: load average before {os.getloadavg()[0]:.1f}")
            t = interleaved({"plain": (run_plain, clip, out, options),
                             "ours": (run_ours, clip, out, options),
                             "previous": (run_ours, clip, out, previous),
                             "rungs": (run_per_rung, clip, out, options)}, args.repeat)
            (plain, plain_cpu), (ours, ours_cpu), (rungs, rungs_cpu) = (
                t["plain"], t["ours"], t["rungs"])
            prev, prev_cpu = t["previous"]
            print(f"plain ffmpeg, one run (floor)   {plain:7.2f} s wall {plain_cpu:7.1f} s CPU")
            print(f"ours, one run                   {ours:7.2f} s wall {ours_cpu:7.1f} s CPU   "
                  f"ours/plain = {ours / plain:.3f} wall, {ours_cpu / plain_cpu:.3f} CPU "
                  f"(target <= 1.10); realtime {args.seconds / ours:.2f}x wall, "
                  f"{2 * args.seconds / ours_cpu:.2f}x by CPU on 2 cores")
            print(f"previous (no cascade)           {prev:7.2f} s wall {prev_cpu:7.1f} s CPU   "
                  f"previous/ours = {prev / ours:.2f}x wall, {prev_cpu / ours_cpu:.2f}x CPU")
            print(f"one run per rung (4 runs)       {rungs:7.2f} s wall {rungs_cpu:7.1f} s CPU   "
                  f"per-rung/ours = {rungs / ours:.2f}x wall, {rungs_cpu / ours_cpu:.2f}x CPU "
                  f"(target >= 1.2x)")
        t = interleaved({"copied": (run_ours, compliant, out, options),
                         "encoded": (run_ours, compliant, out, Options(passthrough=False))},
                        args.repeat)
        print(f"compliant source, top rung copied  {t['copied'][0]:7.2f} s wall "
              f"{t['copied'][1]:7.1f} s CPU")
        print(f"compliant source, all re-encoded   {t['encoded'][0]:7.2f} s wall "
              f"{t['encoded'][1]:7.1f} s CPU   passthrough speed-up = "
              f"{t['encoded'][0] / t['copied'][0]:.2f}x wall, "
              f"{t['encoded'][1] / t['copied'][1]:.2f}x CPU")
        print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
