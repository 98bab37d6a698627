"""The pure parts of the floor benchmark: the driver's settings and step plan, the order
of alternating runs, percentiles with unreceived events, CPU arithmetic from
``/proc/<pid>/stat``, and the spread of two rounds. No I/O here (tests/unit)."""

from __future__ import annotations

import argparse
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

RATES = (50.0, 100.0, 200.0, 400.0)


@dataclass(frozen=True)
class Step:
    """One paced step: ``rate`` events/s for ``seconds``; ``cpu`` marks the step whose
    CPU per event is the variant's figure (the steady minute)."""

    rate: float
    seconds: float
    cpu: bool = False

    @property
    def events(self) -> int:
        return max(1, round(self.rate * self.seconds))


@dataclass(frozen=True)
class DriverSettings:
    """What one ``python -m bench.floor`` run does. Every duration is a setting, so a
    quick trial (short steps, one round) and the full matrix use the same code."""

    rates: tuple[float, ...] = RATES
    step_seconds: float = 25.0
    # the CPU figure: this rate held for cpu_seconds (replaces that rate's step)
    cpu_rate: float = 100.0
    cpu_seconds: float = 60.0
    # after a step's last publish, wait at most this long for its results
    drain_seconds: float = 30.0
    # students warmed up (activated) before the steps; the steps cycle through them
    students: int = 2000
    saturation_events: int = 8000
    saturation_students: int = 800
    rounds: int = 2
    variants: tuple[str, ...] = ()
    # the service variant runs the service as committed here (a git worktree)
    service_commit: str = "main"
    # the candidate variant runs this commit (a change measured against service)
    candidate_commit: str = "HEAD"
    # a step that leaves more than this share of its events unreceived after the drain
    # is saturated: the higher rates are not run for that variant
    saturated_share: float = 0.02

    def steps(self) -> list[Step]:
        return step_plan(self.rates, self.step_seconds, self.cpu_rate, self.cpu_seconds)

    def seconds_per_run(self, startup_s: float = 25.0, warmup_s: float = 15.0) -> float:
        """A rough estimate of one run's length (start-up, warm-up, steps, saturation),
        for the plan printed before the matrix starts."""
        steps = sum(s.seconds + 3.0 for s in self.steps())
        return startup_s + warmup_s + steps + 20.0


def step_plan(
    rates: Sequence[float], step_seconds: float, cpu_rate: float, cpu_seconds: float
) -> list[Step]:
    """Rates in ascending order, each held ``step_seconds``; the CPU rate held
    ``cpu_seconds`` and marked (added when it is not one of ``rates``)."""
    if step_seconds <= 0 or cpu_seconds <= 0:
        raise ValueError("step durations must be positive")
    if any(r <= 0 for r in rates) or cpu_rate <= 0:
        raise ValueError("rates must be positive")
    plan = {float(r): Step(float(r), step_seconds) for r in rates}
    plan[float(cpu_rate)] = Step(float(cpu_rate), cpu_seconds, cpu=True)
    return [plan[r] for r in sorted(plan)]


def run_order(variants: Sequence[str], rounds: int) -> list[tuple[int, str]]:
    """(round, variant) in the order they run: odd rounds in the given order, even
    rounds reversed (A B C, C B A, ...), so a drift of the machine during the matrix
    weighs on every variant alike."""
    if rounds < 1:
        raise ValueError("at least one round")
    order: list[tuple[int, str]] = []
    for r in range(1, rounds + 1):
        names = list(variants) if r % 2 == 1 else list(reversed(variants))
        order.extend((r, v) for v in names)
    return order


def cycle(students: Sequence[str], start: int, count: int) -> list[str]:
    """``count`` student ids taken round-robin from position ``start``: uniform, and each
    student's next event comes a whole cycle later (one event per student per turn)."""
    if not students:
        raise ValueError("no students")
    n = len(students)
    return [students[(start + i) % n] for i in range(count)]


def pacing(count: int, rate: float) -> list[float]:
    """Offsets in seconds from the step's start at which each event is published."""
    return [i / rate for i in range(count)]


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of sorted-or-not ``values`` (``math.inf`` counts as a
    value: an event never received); nan when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def latency_summary(latencies_ms: Sequence[float], missing: int) -> dict[str, float | int | None]:
    """p50/p95/p99 of publish -> result, with the events never received counted as
    infinitely late: a percentile that falls on them is None (the step was saturated)."""
    values = [*latencies_ms, *([math.inf] * missing)]

    def at(p: float) -> float | None:
        v = percentile(values, p)
        return None if math.isinf(v) or math.isnan(v) else round(v, 1)

    return {
        "n": len(latencies_ms),
        "missing": missing,
        "p50": at(50),
        "p95": at(95),
        "p99": at(99),
        "max": round(max(latencies_ms), 1) if latencies_ms else None,
    }


def stat_cpu_ticks(stat: str) -> int:
    """utime + stime (clock ticks) from the text of ``/proc/<pid>/stat``. The process
    name (field 2) is in parentheses and may hold spaces or ')', so fields are counted
    after its last ')'."""
    rest = stat.rsplit(")", 1)[1].split()
    # rest[0] is field 3 (state): utime and stime are fields 14 and 15
    return int(rest[11]) + int(rest[12])


def cpu_ms_per_event(ticks_before: int, ticks_after: int, clk_tck: int, events: int) -> float:
    """CPU milliseconds per event between two readings of a process's ticks."""
    if events <= 0:
        return math.nan
    if ticks_after < ticks_before:
        raise ValueError("CPU ticks went backwards (another process with that pid?)")
    return (ticks_after - ticks_before) * 1000.0 / clk_tck / events


def cpu_share(ticks_before: int, ticks_after: int, clk_tck: int, wall_s: float) -> float:
    """Share of one core, in percent, over ``wall_s`` seconds."""
    if wall_s <= 0:
        return math.nan
    return (ticks_after - ticks_before) / clk_tck / wall_s * 100.0


def saturated(sent: int, received: int, share: float) -> bool:
    """Whether a step left more than ``share`` of its events unreceived."""
    return sent > 0 and (sent - received) / sent > share


@dataclass(frozen=True)
class Spread:
    values: tuple[float, ...]
    median: float | None = field(default=None)
    low: float | None = field(default=None)
    high: float | None = field(default=None)

    @property
    def spread_pct(self) -> float | None:
        """(high - low) / median, in percent."""
        if self.median in (None, 0) or self.low is None or self.high is None:
            return None
        return round((self.high - self.low) / self.median * 100, 1)

    def as_dict(self) -> dict[str, object]:
        return {
            "values": list(self.values),
            "median": self.median,
            "low": self.low,
            "high": self.high,
            "spread_pct": self.spread_pct,
        }


def spread(values: Sequence[float | None]) -> Spread:
    """Median and range of the rounds' figures of one metric (None and nan left out)."""
    kept = tuple(
        float(v) for v in values if v is not None and not math.isnan(v) and not math.isinf(v)
    )
    if not kept:
        return Spread(())
    return Spread(kept, round(statistics.median(kept), 3), min(kept), max(kept))


def ratio(value: float | None, reference: float | None) -> float | None:
    """value / reference, rounded; None when either is missing or the reference is 0."""
    if value is None or reference is None or reference == 0:
        return None
    if math.isnan(value) or math.isnan(reference):
        return None
    return round(value / reference, 2)


def parse_args(
    argv: Sequence[str], variants: Sequence[str], default: Sequence[str]
) -> DriverSettings:
    """DriverSettings from the command line (``variants``: every known variant;
    ``default``: those run when ``--variants`` is not given, in that order)."""
    base = DriverSettings()
    parser = argparse.ArgumentParser(
        prog="python -m bench.floor", description="The floor, by transport (bench/floor)."
    )
    parser.add_argument(
        "--variants",
        default=",".join(default),
        help=f"comma-separated, in order (default {','.join(default)}; known: "
        f"{','.join(variants)})",
    )
    parser.add_argument("--rounds", type=int, default=base.rounds)
    parser.add_argument(
        "--rates", default=",".join(f"{r:g}" for r in base.rates), help="events/s, comma-separated"
    )
    parser.add_argument("--step-seconds", type=float, default=base.step_seconds)
    parser.add_argument("--cpu-rate", type=float, default=base.cpu_rate)
    parser.add_argument("--cpu-seconds", type=float, default=base.cpu_seconds)
    parser.add_argument("--drain-seconds", type=float, default=base.drain_seconds)
    parser.add_argument("--students", type=int, default=base.students)
    parser.add_argument("--saturation-events", type=int, default=base.saturation_events)
    parser.add_argument("--saturation-students", type=int, default=base.saturation_students)
    parser.add_argument(
        "--service-commit",
        default=base.service_commit,
        help="the service variant runs this commit, from a git worktree (default main)",
    )
    parser.add_argument(
        "--candidate-commit",
        default=base.candidate_commit,
        help="the candidate variant runs this commit, from a git worktree (default HEAD)",
    )
    args = parser.parse_args(list(argv))
    chosen = tuple(v for v in args.variants.replace(" ", "").split(",") if v)
    unknown = [v for v in chosen if v not in variants]
    if unknown or not chosen:
        parser.error(f"unknown variants {unknown}; known: {', '.join(variants)}")
    settings = DriverSettings(
        rates=tuple(float(r) for r in args.rates.split(",") if r),
        step_seconds=args.step_seconds,
        cpu_rate=args.cpu_rate,
        cpu_seconds=args.cpu_seconds,
        drain_seconds=args.drain_seconds,
        students=args.students,
        saturation_events=args.saturation_events,
        saturation_students=args.saturation_students,
        rounds=args.rounds,
        variants=chosen,
        service_commit=args.service_commit,
        candidate_commit=args.candidate_commit,
    )
    settings.steps()  # refuses bad rates and durations here, before anything starts
    if settings.rounds < 1 or settings.students < 1 or settings.saturation_students < 1:
        parser.error("rounds, students and saturation students must be at least 1")
    return settings
