"""Fault injection points, for the topology proof (``bench/topology.py``).

``FAULT_INJECT=<point>`` makes the process SIGKILL itself when it reaches ``point(<point>)``:
a crash exactly between two writes, which no outside kill can aim at. Unset (always, outside
the proof) every point is a no-op.
"""

from __future__ import annotations

import logging
import os
import signal

from flask import current_app

log = logging.getLogger(__name__)


def point(name: str) -> None:
    """Die here, like a SIGKILL, when ``FAULT_INJECT`` names this point."""
    if current_app.config.get("FAULT_INJECT") == name:
        log.error("FAULT_INJECT=%s: killing process %d here", name, os.getpid())
        logging.shutdown()
        os.kill(os.getpid(), signal.SIGKILL)
