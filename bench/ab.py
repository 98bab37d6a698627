"""A/B of the event path: saturation runs alternating between a baseline commit and this
checkout, on the same machine and backing services, so noise hits both alike.

    python -m bench.ab [--baseline COMMIT] [--rounds N]   (make bench-ab)

The baseline runs from a git worktree of COMMIT (default: the last per-event commit,
1f58d54) kept in the cache folder; each side runs its own `bench.quick_saturation`.
Writes bench/results/ab-<date>.json: every run, then per side the median and the spread
of events/s and of app + daprd CPU milliseconds per event.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.run import RESULTS, STACK_DIR
from tests.integration.stack import REPO

PER_EVENT_COMMIT = "1f58d54"
CACHE = Path(os.environ.get("PROGRESS_CACHE", Path.home() / ".cache" / "progress-service"))


def worktree(commit: str) -> Path:
    path = CACHE / "ab" / commit
    if not (path / "bench").exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "worktree", "add", "--detach", "--force", str(path), commit],
            cwd=REPO,
            check=True,
            capture_output=True,
        )
    venv = path / ".venv"
    if not venv.exists():
        venv.symlink_to(REPO / ".venv")  # same locked dependencies
    return path


def one_run(checkout: Path) -> dict[str, Any]:
    out = subprocess.run(
        [str(checkout / ".venv" / "bin" / "python"), "-m", "bench.quick_saturation"],
        cwd=checkout,
        env={**os.environ, "STACK_DIR": str(STACK_DIR)},
        check=True,
        capture_output=True,
        text=True,
        timeout=900,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    res = result["resources"]
    cpu_s = sum(res[k]["cpu_percent"] for k in ("app", "daprd")) / 100 * result["seconds"]
    result["app_and_daprd_cpu_ms_per_event"] = round(cpu_s * 1000 / result["events"], 3)
    return result


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    rate = [r["events_per_s"] for r in runs]
    cpu = [r["app_and_daprd_cpu_ms_per_event"] for r in runs]
    rss = [r["resources"]["app"]["peak_rss_mb"] for r in runs]
    return {
        "events_per_s": {"median": statistics.median(rate), "min": min(rate), "max": max(rate)},
        "app_and_daprd_cpu_ms_per_event": {
            "median": statistics.median(cpu),
            "min": min(cpu),
            "max": max(cpu),
        },
        "app_peak_rss_mb": {"median": statistics.median(rss), "max": max(rss)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default=PER_EVENT_COMMIT)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    sides = {"baseline": worktree(args.baseline), "batched": REPO}
    runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "batched": []}
    for i in range(args.rounds):
        for side, checkout in sides.items():
            result = one_run(checkout)
            runs[side].append(result)
            sys.stdout.write(
                f"round {i + 1} {side}: {result['events_per_s']} events/s, app + daprd "
                f"{result['app_and_daprd_cpu_ms_per_event']} ms CPU/event\n"
            )
            sys.stdout.flush()
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "baseline_commit": args.baseline,
        "runs": runs,
        "summary": {side: summary(r) for side, r in runs.items()},
    }
    out = RESULTS / f"ab-{time.strftime('%Y-%m-%d')}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    sys.stdout.write(json.dumps(report["summary"], indent=2) + f"\nwritten {out}\n")


if __name__ == "__main__":
    main()
