"""A transcoded video plays in a real browser: headless Chromium (Debian's) through hls.js.

Chromium has no native HLS, so the page uses the hls.js build the site itself ships
(``app/pages/static/vendor/hls.js``), as phones' browsers other than Safari do. The output
folder of ``transcode`` is served as it is over loopback HTTP; each rendition of the master
playlist is played in turn (hls.js pinned to it) and must decode frames and sound at its own
size, then the faststart MP4 of the top rung plays from a plain ``<video src>``.
"""

from __future__ import annotations

import functools
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from media.probe import probe
from media.transcode import Options, transcode

HLS_JS = (Path(__file__).resolve().parents[2] / "app" / "pages" / "static" / "vendor"
          / "hls.js" / "hls.light.min.js")

PAGE = """<!doctype html><meta charset="utf-8"><title>playback</title>
<video id="v" muted playsinline width="640"></video>
<script src="hls.light.min.js"></script>
<script>
window.errors = [];
window.playLevel = ([width, height]) => {
  const video = document.getElementById("v");
  if (window.hls) { window.hls.destroy(); }
  video.removeAttribute("src"); video.load();
  const hls = window.hls = new Hls({autoStartLoad: false, capLevelToPlayerSize: false});
  hls.on(Hls.Events.ERROR, (_, data) => { if (data.fatal) window.errors.push(data.details); });
  hls.on(Hls.Events.MANIFEST_PARSED, (_, data) => {
    window.levels = data.levels.map(l => [l.width, l.height]);
    // hls.js orders levels by bitrate: find the rendition under test and pin it (no ABR)
    const level = data.levels.findIndex(l => l.width === width && l.height === height);
    hls.startLevel = level;
    hls.loadLevel = level;
    hls.startLoad();
    video.play().catch(e => window.errors.push(String(e)));
  });
  hls.loadSource("hls/master.m3u8");
  hls.attachMedia(video);
};
window.playMp4 = (src) => {
  const video = document.getElementById("v");
  if (window.hls) { window.hls.destroy(); window.hls = null; }
  video.src = src;
  video.play().catch(e => window.errors.push(String(e)));
};
</script>
"""

# playing past the first 2 s segment, with frames and sound decoded, at the rung's size
PLAYING = """([w, h]) => {
  const v = document.getElementById("v");
  return v.currentTime > 2.2 && v.videoWidth === w && v.videoHeight === h
    && v.getVideoPlaybackQuality().totalVideoFrames > 30 && v.webkitAudioDecodedByteCount > 0;
}"""


STATE = """() => {
  const v = document.getElementById("v");
  return {time: v.currentTime, size: [v.videoWidth, v.videoHeight], ready: v.readyState,
          paused: v.paused, ended: v.ended, error: v.error && v.error.message,
          frames: v.getVideoPlaybackQuality().totalVideoFrames,
          audio: v.webkitAudioDecodedByteCount, errors: window.errors};
}"""


def wait_playing(page, size: list[int]) -> None:
    """Wait for playback past the first segment at ``size``; on timeout say what was seen."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(PLAYING, arg=size)
    except PlaywrightTimeout:
        pytest.fail(f"not playing at {size}: {page.evaluate(STATE)}")


class Quiet(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map,
                      ".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t"}

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def served(tmp_path):
    """``served(folder)`` -> base URL of a loopback HTTP server for that folder."""
    servers = []

    def serve(folder: Path) -> str:
        handler = functools.partial(Quiet, directory=str(folder))
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_port}"

    yield serve
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def test_every_hls_rendition_and_the_mp4_play_in_chromium(clip, tmp_path, served, browser):
    assert HLS_JS.is_file(), f"hls.js is vendored at {HLS_JS}"
    out = tmp_path / "out"
    # 720p source that meets the rules: the copied top rung and two encoded rungs
    result = transcode(probe(clip("compliant_720")), out, Options())
    assert [r.copied for r in result.renditions] == [True, False, False]
    (out / "index.html").write_text(PAGE)
    shutil.copyfile(HLS_JS, out / HLS_JS.name)
    base = served(out)

    context = browser.new_context()
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        page.goto(f"{base}/index.html")
        for rendition in result.renditions:
            size = [rendition.width, rendition.height]
            page.evaluate("size => window.playLevel(size)", size)
            wait_playing(page, size)
            assert sorted(page.evaluate("window.levels")) == sorted(
                [r.width, r.height] for r in result.renditions)
            assert page.evaluate("window.levels[window.hls.currentLevel]") == size
            assert page.evaluate("document.getElementById('v').currentSrc").startswith("blob:")
            assert page.evaluate("window.errors") == [], rendition.name

        top = result.renditions[0]
        page.evaluate("src => window.playMp4(src)", top.mp4)
        wait_playing(page, [top.width, top.height])
        assert page.evaluate("document.getElementById('v').currentSrc") == f"{base}/{top.mp4}"
        assert page.evaluate("window.errors") == []
    finally:
        context.close()
