"""The floor benchmark's pure parts: step plan, run order, pacing, percentiles with
unreceived events, CPU arithmetic from /proc/<pid>/stat, spreads and ratios."""

from __future__ import annotations

import math

import pytest

from bench.floor.plan import (
    DriverSettings,
    Step,
    cpu_ms_per_event,
    cpu_share,
    cycle,
    latency_summary,
    pacing,
    parse_args,
    percentile,
    ratio,
    run_order,
    saturated,
    spread,
    stat_cpu_ticks,
    step_plan,
)

KNOWN = ["http", "grpc-clients", "stream-host", "service", "stream-all"]
DEFAULT = ["http", "grpc-clients", "stream-host", "service"]


def test_steps_ascend_and_the_cpu_rate_is_held_longer() -> None:
    plan = step_plan([400, 50, 200, 100], 30, 100, 60)
    assert [s.rate for s in plan] == [50, 100, 200, 400]
    assert [s.seconds for s in plan] == [30, 60, 30, 30]
    assert [s.cpu for s in plan] == [False, True, False, False]
    assert [s.events for s in plan] == [1500, 6000, 6000, 12000]


def test_a_cpu_rate_outside_the_rates_is_added() -> None:
    plan = step_plan([50, 400], 20, 150, 60)
    assert [(s.rate, s.cpu) for s in plan] == [(50, False), (150, True), (400, False)]


@pytest.mark.parametrize(
    ("rates", "step", "cpu_rate", "cpu_s"),
    [([50, 0], 30, 100, 60), ([50], 0, 100, 60), ([50], 30, 100, 0), ([50], 30, -1, 60)],
)
def test_bad_plans_are_refused(
    rates: list[float], step: float, cpu_rate: float, cpu_s: float
) -> None:
    with pytest.raises(ValueError):
        step_plan(rates, step, cpu_rate, cpu_s)


def test_a_step_has_at_least_one_event() -> None:
    assert Step(0.01, 1).events == 1


def test_even_rounds_run_in_reverse() -> None:
    assert run_order(["a", "b", "c"], 3) == [
        (1, "a"),
        (1, "b"),
        (1, "c"),
        (2, "c"),
        (2, "b"),
        (2, "a"),
        (3, "a"),
        (3, "b"),
        (3, "c"),
    ]
    with pytest.raises(ValueError):
        run_order(["a"], 0)


def test_cycle_is_round_robin_and_continues_where_it_stopped() -> None:
    students = ["s0", "s1", "s2"]
    assert cycle(students, 0, 4) == ["s0", "s1", "s2", "s0"]
    assert cycle(students, 4, 3) == ["s1", "s2", "s0"]
    # one event per student per turn: a student comes back only after all the others
    order = cycle([f"s{i}" for i in range(2000)], 0, 6000)
    gaps = {order[i + 2000] == order[i] for i in range(4000)}
    assert gaps == {True}
    assert len(set(order[:2000])) == 2000
    with pytest.raises(ValueError):
        cycle([], 0, 1)


def test_pacing_spreads_events_over_the_step() -> None:
    assert pacing(4, 2.0) == [0.0, 0.5, 1.0, 1.5]


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile(values, 100) == 100
    assert percentile([7.0], 99) == 7
    assert math.isnan(percentile([], 50))
    assert percentile([3.0, 1.0, 2.0], 50) == 2


def test_unreceived_events_count_as_infinitely_late() -> None:
    got = latency_summary([10.0] * 96, missing=4)
    assert got["n"] == 96 and got["missing"] == 4
    assert got["p50"] == 10.0 and got["p95"] == 10.0
    assert got["p99"] is None  # falls on an event never received
    saturated_step = latency_summary([10.0] * 50, missing=50)
    assert saturated_step["p50"] == 10.0 and saturated_step["p95"] is None
    assert latency_summary([], 0) == {
        "n": 0,
        "missing": 0,
        "p50": None,
        "p95": None,
        "p99": None,
        "max": None,
    }


def test_cpu_ticks_from_proc_stat_with_a_name_holding_spaces_and_parens() -> None:
    # fields after the name: state ppid pgrp session tty tpgid flags minflt cminflt
    # majflt cmajflt utime stime ...
    stat = "4242 (py (worker) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 3"
    assert stat_cpu_ticks(stat) == 325


def test_cpu_per_event_and_share() -> None:
    # 150 ticks at 100/s = 1.5 s of CPU over 300 events = 5 ms each
    assert cpu_ms_per_event(1000, 1150, 100, 300) == pytest.approx(5.0)
    assert math.isnan(cpu_ms_per_event(0, 10, 100, 0))
    with pytest.raises(ValueError):
        cpu_ms_per_event(10, 5, 100, 1)
    # 1.5 s of CPU over 3 s of wall time: half a core
    assert cpu_share(1000, 1150, 100, 3.0) == pytest.approx(50.0)
    assert math.isnan(cpu_share(0, 1, 100, 0))


def test_saturated_when_more_than_the_share_is_left_unreceived() -> None:
    assert not saturated(1000, 990, 0.02)
    assert saturated(1000, 970, 0.02)
    assert not saturated(0, 0, 0.02)


def test_spread_of_rounds() -> None:
    s = spread([2.0, 3.0, None, math.nan])
    assert s.values == (2.0, 3.0)
    assert (s.median, s.low, s.high) == (2.5, 2.0, 3.0)
    assert s.spread_pct == 40.0
    assert spread([None]).as_dict() == {
        "values": [],
        "median": None,
        "low": None,
        "high": None,
        "spread_pct": None,
    }


def test_ratio() -> None:
    assert ratio(3.0, 6.0) == 0.5
    assert ratio(None, 1.0) is None
    assert ratio(1.0, 0.0) is None
    assert ratio(math.nan, 1.0) is None


def test_arguments_default_to_the_issue_s_plan() -> None:
    settings = parse_args([], KNOWN, DEFAULT)
    assert settings.variants == tuple(DEFAULT)
    assert settings.rates == (50, 100, 200, 400)
    assert settings.rounds == 2
    assert settings.students >= 2000


def test_arguments_choose_variants_and_durations() -> None:
    settings = parse_args(
        [
            "--variants",
            "stream-all,http",
            "--rounds",
            "1",
            "--rates",
            "50,100",
            "--step-seconds",
            "5",
            "--cpu-seconds",
            "10",
        ],
        KNOWN,
        DEFAULT,
    )
    assert settings == DriverSettings(
        rates=(50, 100),
        step_seconds=5,
        cpu_seconds=10,
        rounds=1,
        variants=("stream-all", "http"),
    )
    assert [(s.rate, s.seconds) for s in settings.steps()] == [(50, 5), (100, 10)]


@pytest.mark.parametrize(
    "argv",
    [["--variants", "http,nope"], ["--rounds", "0"], ["--rates", "50,-1"], ["--students", "0"]],
)
def test_bad_arguments_are_refused(argv: list[str]) -> None:
    with pytest.raises((SystemExit, ValueError)):
        parse_args(argv, KNOWN, DEFAULT)
