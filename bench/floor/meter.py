"""CPU of the stack's processes from ``/proc/<pid>/stat`` (bench/run.py's ResourceMeter,
for any instance name): the app, its daprd, Kafka, PostgreSQL (the postmaster and its
backends alive at both readings) and the driver itself; and each group's peak resident
memory so far (``VmHWM``), which shows what a setting such as daprd's ``GOGC`` costs in
memory."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from bench.floor.plan import cpu_ms_per_event, cpu_share, stat_cpu_ticks
from bench.harness import process_memory_mb

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _ticks(pid: int) -> int | None:
    try:
        return stat_cpu_ticks(Path(f"/proc/{pid}/stat").read_text())
    except (OSError, IndexError, ValueError):
        return None


def recorded_pid(stack_dir: Path, name: str) -> int | None:
    f = stack_dir / "run" / f"{name}.pid"
    try:
        return int(f.read_text().strip())
    except (OSError, ValueError):
        return None


def with_children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [pid, *(int(p) for p in found.stdout.split())]


class Meter:
    """CPU used by each labelled group of processes between construction and
    ``report``. A process that exits in between is left out of both readings."""

    def __init__(self, groups: dict[str, list[int]]) -> None:
        self._groups = groups
        self._start = {label: self._read(pids) for label, pids in groups.items()}
        self._t0 = time.monotonic()

    @staticmethod
    def _read(pids: list[int]) -> dict[int, int]:
        out = {}
        for pid in pids:
            ticks = _ticks(pid)
            if ticks is not None:
                out[pid] = ticks
        return out

    def report(self, events: int) -> dict[str, dict[str, float]]:
        wall = time.monotonic() - self._t0
        out: dict[str, dict[str, float]] = {}
        for label, pids in self._groups.items():
            now = self._read(pids)
            both = [p for p in now if p in self._start[label]]
            before = sum(self._start[label][p] for p in both)
            after = sum(now[p] for p in both)
            out[label] = {
                "cpu_ms_per_event": round(cpu_ms_per_event(before, after, CLK_TCK, events), 3),
                "cpu_percent": round(cpu_share(before, after, CLK_TCK, wall), 1),
                "peak_rss_mb": round(sum(process_memory_mb(p, "VmHWM") for p in both), 1),
            }
        return out


def stack_groups(stack_dir: Path, app: str, daprd: str) -> dict[str, list[int]]:
    """The processes to meter, by label; a label whose pid file is missing is left out."""
    groups: dict[str, list[int]] = {}
    for label, name in (
        ("app", app),
        ("daprd", daprd),
        ("kafka", "kafka"),
        ("postgres", "postgres"),
    ):
        pid = recorded_pid(stack_dir, name)
        if pid is not None:
            groups[label] = with_children(pid)
    groups["driver"] = [os.getpid()]
    return groups
