"""One ffmpeg run per video: ladder, codecs, keyframes, HLS, poster, phone realities."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import psutil
import pytest

from media.probe import probe
from media.transcode import Options, TranscodeError, run_ffmpeg, transcode
from tests.media.conftest import keyframes, probe_json


def _video(info: dict) -> dict:
    return next(s for s in info["streams"] if s["codec_type"] == "video")


def _top_level_boxes(path: Path) -> list[bytes]:
    boxes, data, pos = [], path.read_bytes(), 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        boxes.append(kind)
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
        if size < 8:
            break
        pos += size
    return boxes


def _parse_playlist(path: Path) -> list[str]:
    text = path.read_text()
    assert text.startswith("#EXTM3U")
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def assert_hls(out: Path, result) -> None:
    """The master lists every rung; each rung's playlist names segments that exist and decode."""
    master = out / result.master
    assert "#EXT-X-STREAM-INF" in master.read_text()
    variants = _parse_playlist(master)
    assert len(variants) == len(result.renditions)
    for variant, rendition in zip(variants, result.renditions, strict=True):
        playlist = master.parent / variant
        segments = _parse_playlist(playlist)
        assert segments and "#EXT-X-ENDLIST" in playlist.read_text()
        for segment in segments:
            assert (playlist.parent / segment).is_file()
        first = _video(probe_json(playlist.parent / segments[0]))
        assert (first["width"], first["height"]) == (rendition.width, rendition.height)
        assert first["codec_name"] == "h264"


def test_1080p_source_makes_four_aligned_rungs_in_one_run(clip, tmp_path):
    info = probe(clip("h264_1080"))
    seen: list[float] = []
    result = transcode(info, tmp_path / "out", Options(passthrough=False), on_progress=seen.append)
    out = tmp_path / "out"
    assert [(r.name, r.width, r.height) for r in result.renditions] == [
        ("1080p", 1920, 1080), ("720p", 1280, 720), ("480p", 854, 480), ("360p", 640, 360)]
    assert seen and seen == sorted(seen) and seen[-1] == 1.0
    assert abs(result.duration - 2.5) < 0.2
    for rendition in result.renditions:
        mp4 = out / rendition.mp4
        meta = probe_json(mp4)
        video = _video(meta)
        assert (video["width"], video["height"]) == (rendition.width, rendition.height)
        assert video["codec_name"] == "h264" and video["pix_fmt"] == "yuv420p"
        assert video["profile"] == "High"
        assert [s["codec_name"] for s in meta["streams"] if s["codec_type"] == "audio"] == ["aac"]
        boxes = _top_level_boxes(mp4)
        assert boxes.index(b"moov") < boxes.index(b"mdat"), "faststart: index first"
        assert keyframes(mp4) == [0.0, 2.0], rendition.name
        assert rendition.bitrate > 0 and rendition.codecs.startswith("avc1.64")
    assert_hls(out, result)
    poster = _video(probe_json(out / result.poster))
    assert (poster["codec_name"], poster["width"], poster["height"]) == ("mjpeg", 1920, 1080)


def test_compliant_source_keeps_its_top_rung_by_stream_copy(clip, tmp_path):
    src = clip("compliant_720")
    result = transcode(probe(src), tmp_path / "out")
    assert [r.copied for r in result.renditions] == [True, False, False]

    def video_md5(path: Path) -> str:
        return subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v",
                               "-c", "copy", "-f", "md5", "-"], capture_output=True,
                              check=True, text=True).stdout.strip()

    assert video_md5(tmp_path / "out" / "720p.mp4") == video_md5(src)
    for rendition in result.renditions:
        assert keyframes(tmp_path / "out" / rendition.mp4) == [0.0, 2.0, 4.0]
    assert_hls(tmp_path / "out", result)


def _rows(path: Path, seek: float | None = 0.5) -> list[str]:
    """Dominant colour of the top and bottom halves of a frame, as displayed."""
    at = ["-ss", str(seek)] if seek is not None else []
    raw = subprocess.run(["ffmpeg", "-v", "error", *at, "-i", str(path),
                          "-frames:v", "1", "-vf", "scale=1:2", "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return ["red" if raw[i] > raw[i + 2] else "blue" for i in (0, 3)]


def test_rotated_10bit_hevc_mov_comes_out_upright_8bit_h264_without_gps(clip, tmp_path):
    src = clip("hevc_rotated_mov")
    assert "location" in probe_json(src)["format"]["tags"]
    result = transcode(probe(src), tmp_path / "out")
    assert [(r.width, r.height) for r in result.renditions] == [(480, 854), (360, 640)]
    upright = _rows(src)  # ffmpeg's own autorotated view of the source
    assert upright in (["red", "blue"], ["blue", "red"])
    for rendition in result.renditions:
        meta = probe_json(tmp_path / "out" / rendition.mp4)
        video = _video(meta)
        assert (video["width"], video["height"]) == (rendition.width, rendition.height)
        assert video["pix_fmt"] == "yuv420p" and video["codec_name"] == "h264"
        assert not any("rotation" in sd for sd in video.get("side_data_list", []))
        tags = meta["format"].get("tags", {})
        assert "location" not in tags and "make" not in tags
        assert _rows(tmp_path / "out" / rendition.mp4) == upright
    assert _rows(tmp_path / "out" / result.poster, seek=None) == upright


@pytest.mark.parametrize("name,size", [("vp9_webm", (426, 240)), ("mpeg4_avi", (320, 240)),
                                       ("odd_dims", (320, 240))])
def test_other_containers_and_odd_sizes(clip, tmp_path, name, size):
    result = transcode(probe(clip(name)), tmp_path / "out")
    assert [(r.width, r.height) for r in result.renditions] == [size]
    video = _video(probe_json(tmp_path / "out" / result.renditions[0].mp4))
    assert (video["width"], video["height"], video["pix_fmt"]) == (*size, "yuv420p")
    assert_hls(tmp_path / "out", result)


def test_no_audio_track_is_still_a_normal_video(clip, tmp_path):
    result = transcode(probe(clip("no_audio")), tmp_path / "out")
    assert not result.has_audio
    for rendition in result.renditions:
        meta = probe_json(tmp_path / "out" / rendition.mp4)
        assert [s["codec_type"] for s in meta["streams"]] == ["video"]
        assert rendition.codecs.count(",") == 0
    assert_hls(tmp_path / "out", result)


@pytest.mark.parametrize("name", ["vfr", "fps120"])
def test_variable_and_high_frame_rates_become_constant_and_capped(clip, tmp_path, name):
    result = transcode(probe(clip(name)), tmp_path / "out")
    video = _video(probe_json(tmp_path / "out" / result.renditions[0].mp4))
    num, den = map(int, video["avg_frame_rate"].split("/"))
    assert video["r_frame_rate"] == video["avg_frame_rate"] or abs(
        num / den - result.fps) < 0.05
    assert result.fps <= 30
    if name == "fps120":
        assert result.fps == 30


def test_hdr10_is_tone_mapped_to_8bit_sdr(clip, tmp_path):
    result = transcode(probe(clip("hdr10")), tmp_path / "out")
    video = _video(probe_json(tmp_path / "out" / result.renditions[0].mp4))
    assert video["pix_fmt"] == "yuv420p"
    assert video.get("color_transfer") == "bt709"


def test_hard_time_limit_kills_ffmpeg_and_removes_outputs(clip, tmp_path):
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    with pytest.raises(TranscodeError) as err:
        transcode(probe(clip("h264_1080")), tmp_path / "out",
                  Options(timeout=0.3, passthrough=False))
    assert err.value.code == "timeout"
    assert not (tmp_path / "out").exists()
    after = {p.pid for p in psutil.Process().children(recursive=True)
             if p.is_running() and p.status() != psutil.STATUS_ZOMBIE}
    assert after <= before


def test_ffmpeg_runs_niced(tmp_path):
    """The child's niceness, reported through the progress channel."""
    seen: list[float] = []
    run_ffmpeg(["sh", "-c", "echo out_time_us=$(( $(nice) * 1000000 ))"], tmp_path,
               timeout=10, nice=10, duration=100, on_progress=seen.append)
    assert seen == [pytest.approx((psutil.Process().nice() + 10) / 100)]


def test_a_single_frame_clip_still_gets_a_poster(tmp_path):
    src = tmp_path / "one.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=640x360:rate=10:duration=0.1", "-c:v", "libx264",
                    "-pix_fmt", "yuv420p", str(src)], check=True)
    result = transcode(probe(src), tmp_path / "out")
    assert (tmp_path / "out" / result.poster).stat().st_size > 0
    assert [(r.width, r.height) for r in result.renditions] == [(640, 360)]
