"""Probing and the hostile set: nothing unsafe gets past, nothing else is ever opened."""

from __future__ import annotations

import subprocess

import pytest

from media.probe import Limits, MediaRejected, probe, sniff
from media.transcode import Options, TranscodeError, transcode


@pytest.mark.parametrize("name,demuxer", [
    ("h264_1080", "mov"), ("hevc_rotated_mov", "mov"), ("vp9_webm", "matroska"),
    ("mpeg4_avi", "avi"), ("no_audio", "mov"),
])
def test_probe_accepts_real_videos(clip, name, demuxer):
    info = probe(clip(name))
    assert info.demuxer == demuxer
    assert info.duration > 0.9
    assert info.width > 0 and info.height > 0


def test_probe_reports_display_dimensions_and_rotation(clip):
    info = probe(clip("hevc_rotated_mov"))
    assert (info.coded_width, info.coded_height) == (854, 480)
    assert info.rotation in (90, 270)
    assert (info.width, info.height) == (480, 854)
    assert info.codec == "hevc" and info.pix_fmt == "yuv420p10le"


def test_probe_sees_hdr_vfr_and_no_audio(clip):
    assert probe(clip("hdr10")).hdr
    assert probe(clip("vfr")).vfr
    assert not probe(clip("no_audio")).has_audio
    assert not probe(clip("h264_1080")).vfr


@pytest.mark.parametrize("kind,code", [
    ("m3u8", "unsupported_format"),
    ("concat", "unsupported_format"),
    ("text", "unsupported_format"),
    ("zip", "unsupported_format"),
    ("jpeg", "unsupported_format"),
    ("empty", "corrupt"),
    ("truncated", "corrupt"),
])
def test_probe_rejects_hostile_and_broken_files(hostile, canary, kind, code):
    with pytest.raises(MediaRejected) as err:
        probe(hostile(kind))
    assert err.value.code == code
    assert not canary.hit


def test_avi_carrying_a_playlist_opens_nothing_else(hostile, canary, tmp_path):
    path = hostile("avi_playlist")
    try:
        info = probe(path)
    except MediaRejected:
        pass
    else:  # a plain AVI video otherwise: transcoding it must not open the playlist either
        result = transcode(info, tmp_path / "out")
        assert result.renditions
    assert not canary.hit


def test_transcode_refuses_a_playlist_even_without_the_probe(hostile, canary, tmp_path, clip):
    """Defence in depth: the transcoder's own whitelists stop an HLS file that skipped probing."""
    info = probe(clip("no_audio"))
    info.path = str(hostile("m3u8"))
    with pytest.raises(TranscodeError):
        transcode(info, tmp_path / "out", Options(passthrough=False))
    assert not canary.hit
    assert not (tmp_path / "out").exists()


def test_the_canary_works_against_an_unguarded_ffprobe(hostile, canary):
    """Control: plain ffprobe does follow the playlist to our local file, so the check can fail."""
    subprocess.run(["ffprobe", "-v", "quiet", str(hostile("m3u8"))], timeout=20, check=False)
    assert canary.opened.wait(5)


def test_limits(clip):
    with pytest.raises(MediaRejected) as err:
        probe(clip("h264_1080"), Limits(max_seconds=2))
    assert err.value.code == "too_long"
    for name in ("too_wide", "too_many_pixels"):
        with pytest.raises(MediaRejected) as err:
            probe(clip(name))
        assert err.value.code == "too_large"
    with pytest.raises(MediaRejected) as err:
        probe(clip("audio_only"))
    assert err.value.code == "no_video_stream"


def test_truncated_media_data_fails_as_corrupt_in_transcode(hostile, tmp_path):
    info = probe(hostile("truncated_faststart"))  # the index is intact, so the probe passes
    with pytest.raises((TranscodeError, MediaRejected)) as err:
        transcode(info, tmp_path / "out", Options(passthrough=False))
    assert err.value.code == "corrupt"
    assert not (tmp_path / "out").exists()


def test_sniff_ignores_names_and_knows_containers():
    assert sniff(b"\0\0\0\x20ftypisom" + b"\0" * 20) == ("video", "mov")
    assert sniff(b"\x1a\x45\xdf\xa3" + b"\0" * 20) == ("video", "matroska")
    assert sniff(b"RIFF\0\0\0\0AVI LIST") == ("video", "avi")
    assert sniff(b"\xff\xd8\xff\xe0") == ("image", "jpeg")
    assert sniff(b"#EXTM3U\n") is None
    assert sniff(b"\0\0\0\x20ftypheic" + b"\0" * 20) is None
