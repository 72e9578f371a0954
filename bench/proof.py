"""``make proof``: the long suites that show the service holds under attack, faults and load.

    python -m bench.proof [--minutes 5] [--only attack,faults,load]

- attack: the schemathesis run with many more examples per operation than ``make test``,
  plus the security set (tests/proof);
- faults: every scenario in bench/faults, each ending in its own assertion;
- load: bench/load/run.py (seeding, locust from its own process, reconciliation);
- topology: bench/topology (the Procfile's processes on mongoeco behind nginx: the load test
  through nginx, then five faults).

Each part prints PASS/FAIL lines; the exit status is non-zero if any part failed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

FAULTS = [
    ("tus_restart", []),
    ("redis_restart", ["--seconds", "30", "--fans", "40"]),
    ("search_down", ["--posts", "20", "--down", "15"]),
    ("s3_down", ["--down", "15"]),
    ("ffmpeg_kill", []),
    ("cluster_failover", ["--seconds", "20"]),
]


def _run(label: str, cmd: list[str], env: dict | None = None) -> bool:
    print(f"\n=== {label}: {' '.join(cmd[1:])}", flush=True)
    started = time.monotonic()
    result = subprocess.run(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT),
                                                 **(env or {})})
    print(f"=== {label}: {'PASS' if result.returncode == 0 else 'FAIL'} "
          f"({time.monotonic() - started:.0f} s)", flush=True)
    return result.returncode == 0


def attack(examples: int) -> bool:
    return _run("attack", [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/proof", "-k", "not faults"],
                env={"PROOF_SCHEMA_EXAMPLES": str(examples),
                     "PROOF_SCHEMA_NEGATIVE_EXAMPLES": str(max(1, examples // 2))})


def faults() -> bool:
    results = [_run(f"fault {name}", [PYTHON, "-m", f"bench.faults.{name}", *args])
               for name, args in FAULTS]
    return all(results)


def load(minutes: float, users: int) -> bool:
    return _run("load", [PYTHON, "-m", "bench.load.run", "--minutes", str(minutes),
                         "--users", str(users)])


def topology(minutes: float) -> bool:
    return _run("topology", [PYTHON, "-m", "bench.topology", "--minutes", str(minutes)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=float(os.environ.get("LOAD_MINUTES", 5)))
    parser.add_argument("--users", type=int, default=60)
    parser.add_argument("--examples", type=int, default=40,
                        help="schemathesis examples per operation (valid; half as many invalid)")
    parser.add_argument("--only", default="attack,faults,load,topology")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    outcome = {}
    if "attack" in parts:
        outcome["attack"] = attack(args.examples)
    if "faults" in parts:
        outcome["faults"] = faults()
    if "load" in parts:
        outcome["load"] = load(args.minutes, args.users)
    if "topology" in parts:
        outcome["topology"] = topology(min(args.minutes, 2))  # mongoeco is pure Python
    print("\n" + "  ".join(f"{k}: {'PASS' if v else 'FAIL'}" for k, v in outcome.items()))
    return 0 if all(outcome.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
