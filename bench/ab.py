"""A/B of the event path: runs alternating between a baseline commit and this checkout,
on the same machine, so noise hits both alike.

    python -m bench.ab [--baseline COMMIT] [--rounds N] [--rate R]   (make bench-ab)

The baseline runs from a git worktree of COMMIT (default: the last per-event commit,
1f58d54) kept in the cache folder. Both sides run this checkout's
`bench.quick_saturation` (copied into the worktree): saturation, and with ``--rate`` a
paced step at R events/s. Every run starts its own Kafka, PostgreSQL, placement and
scheduler in a fresh folder: reminders armed by an earlier run (stuck deadlines fire ten
minutes later) would otherwise fire in the middle of the next one.
Writes bench/results/ab-<date>.json: every run, then per side the median and the spread
of events/s, of app + daprd CPU milliseconds per event and of the paced latency.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.run import RESULTS
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


def one_run(checkout: Path, rate: float | None) -> dict[str, Any]:
    script = Path("bench") / "quick_saturation.py"
    if checkout != REPO:
        shutil.copyfile(REPO / script, checkout / script)
    stack_dir = Path(tempfile.mkdtemp(prefix="progress-ab-"))
    stack_dir.chmod(0o755)  # PostgreSQL runs as its own account and must get in
    try:
        out = subprocess.run(
            [str(checkout / ".venv" / "bin" / "python"), "-m", "bench.quick_saturation"]
            + (["--rate", str(rate)] if rate else []),
            cwd=checkout,
            env={**os.environ, "STACK_DIR": str(stack_dir)},
            check=True,
            capture_output=True,
            text=True,
            timeout=900,
        )
    except subprocess.CalledProcessError as failed:
        # the run's own account of why, and its app's last log lines (the folder goes)
        sys.stderr.write(failed.stderr[-4000:])
        app_log = stack_dir / "logs" / "bench-app.log"
        if app_log.exists():
            sys.stderr.write("".join(app_log.read_text().splitlines(True)[-20:]))
        raise
    finally:
        shutil.rmtree(stack_dir, ignore_errors=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    res = result["resources"]
    cpu_s = sum(res[k]["cpu_percent"] for k in ("app", "daprd")) / 100 * result["seconds"]
    result["app_and_daprd_cpu_ms_per_event"] = round(cpu_s * 1000 / result["events"], 3)
    return result


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    rate = [r["events_per_s"] for r in runs]
    cpu = [r["app_and_daprd_cpu_ms_per_event"] for r in runs]
    rss = [r["resources"]["app"]["peak_rss_mb"] for r in runs]
    out: dict[str, Any] = {
        "events_per_s": spread(rate),
        "app_and_daprd_cpu_ms_per_event": spread(cpu),
        "app_peak_rss_mb": {"median": statistics.median(rss), "max": max(rss)},
    }
    paced = [r["paced"] for r in runs if "paced" in r]
    if paced:
        out["paced"] = {
            "offered_events_per_s": paced[0]["offered_events_per_s"],
            "latency_p95_ms": spread([p["latency_ms"]["p95"] for p in paced]),
            "latency_p50_ms": spread([p["latency_ms"]["p50"] for p in paced]),
            "app_and_daprd_cpu_ms_per_event": spread(
                [sum(p["cpu_ms_per_event"].values()) for p in paced]
            ),
        }
    return out


def spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default=PER_EVENT_COMMIT)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--rate", type=float, default=None, help="add a paced step (events/s)")
    args = parser.parse_args()
    sides = {"baseline": worktree(args.baseline), "candidate": REPO}
    runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "candidate": []}
    for i in range(args.rounds):
        for side, checkout in sides.items():
            result = one_run(checkout, args.rate)
            runs[side].append(result)
            paced = result.get("paced", {}).get("latency_ms", {})
            sys.stdout.write(
                f"round {i + 1} {side}: {result['events_per_s']} events/s, app + daprd "
                f"{result['app_and_daprd_cpu_ms_per_event']} ms CPU/event"
                + (f", paced p95 {paced['p95']} ms" if paced else "")
                + "\n"
            )
            sys.stdout.flush()
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "baseline_commit": args.baseline,
        "paced_events_per_s": args.rate,
        "runs": runs,
        "summary": {side: summary(r) for side, r in runs.items()},
    }
    out = RESULTS / f"ab-{time.strftime('%Y-%m-%d-%H%M')}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    sys.stdout.write(json.dumps(report["summary"], indent=2) + f"\nwritten {out}\n")


if __name__ == "__main__":
    main()
