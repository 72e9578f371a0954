"""The fault injection point: a process with ``FAULT_INJECT=<point>`` dies there like a
SIGKILL (the topology proof aims its web-process crash with it); any other point, or none
set, is a no-op."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROGRAM = """
from flask import Flask
from app import faults
app = Flask("t")
app.config["FAULT_INJECT"] = {setting!r}
with app.app_context():
    faults.point("elsewhere")
    print("passed elsewhere", flush=True)
    faults.point("after_post_store")
    print("passed after_post_store", flush=True)
"""


def _run(setting: str | None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PROGRAM.format(setting=setting)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_the_named_point_kills_the_process_like_sigkill():
    done = _run("after_post_store")
    assert done.returncode == -signal.SIGKILL
    assert done.stdout.splitlines() == ["passed elsewhere"]


def test_unset_every_point_is_a_no_op():
    done = _run(None)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["passed elsewhere", "passed after_post_store"]
