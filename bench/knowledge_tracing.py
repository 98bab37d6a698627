"""What knowledge tracing costs (issue 24): python -m bench.knowledge_tracing [--recovery N].
No stack: pure Python, the functions the actor and the fit job would call.

1. Per observation, in microseconds (best of 5 runs of 200,000 each): ``update`` alone,
   and what the actor's turn would add per event — read the topic's parameters from the
   ParameterSet, decide whether the event is an observation, update, read the level —
   for an answer and for an event that is not one. The issue allows 5 % more CPU per
   event; a one-event turn costs ~10 ms of app and daprd CPU (docs/performance.md, "The
   floor, by transport"), so the update must stay well under 100 us.
2. The fit, seconds per 10,000 answers: cohorts of 500 students x 20 answers drawn from
   known parameters, fitted as the background job would (median and range of 5 seeds),
   and the 400 x 20 cohort of the unit tests.
3. Learners and spinners under the default parameters, 10,000 simulated students each:
   the share that touches 0.95 within 10 and 20 answers, and that is at or above it after
   20 — what the levels see — and the share the wheel_spinning alert flags within 20
   answers as actors/rules.py reads "not reached mastery" (below 0.95 now, at some answer
   from the 10th on) and as "never reached 0.95 in the first 10" would.
4. With ``--recovery N``: N seeded 400 x 20 cohorts of each of two parameter sets, the
   largest and 95th-percentile |fitted - true| per parameter and the held-out AUC and
   log-loss (fitted, default, true parameters): the spread behind the unit tests' bounds
   (docs/decisions/020-knowledge-tracing-fitted-here.md). About 0.3 s per cohort.

Prints readable lines, then one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import timeit
from typing import Any

from actors.events import LearningEvent, parse_event
from actors.knowledge_tracing import (
    DEFAULT_PARAMETERS,
    MASTERED_AT,
    PARAMETER_NAMES,
    BktParameters,
    ParameterSet,
    knowledge_level,
    observation,
    published,
    trace,
    update,
)
from actors.mastery_fit import evaluate, fit, synthetic_cohort

TURN_US = 10_000.0  # a one-event turn, app + daprd CPU (docs/performance.md)
NUMBER = 200_000
REPEAT = 5
TRUE = BktParameters(prior=0.3, learn=0.15, guess=0.2, slip=0.1)
FAST = BktParameters(prior=0.5, learn=0.3, guess=0.1, slip=0.05)


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")


def _rounded(values: dict[str, float], digits: int) -> str:
    return json.dumps({k: round(v, digits) for k, v in values.items()})


def _event(kind: str, **data: Any) -> LearningEvent:
    base = {"event_id": "b1", "student_id": "s1", "topic_id": "python.loops"}
    return parse_event(kind, {**base, "occurred_at": "2026-12-07T10:00:00Z", **data})


def _best_us(statement: Any) -> float:
    runs = timeit.repeat(statement, number=NUMBER, repeat=REPEAT)
    return min(runs) / NUMBER * 1e6


def per_observation() -> dict[str, float]:
    params = ParameterSet(version="bench", topics={"python.loops": TRUE})
    answer = _event("exercise.submitted", exercise_id="e1", passed=True, score=80)
    other = _event("code.executed", success=False, error_type="NameError")
    state = {"p": 0.3}

    def update_only() -> None:
        state["p"] = update(0.3, True, TRUE)

    def on_event(e: LearningEvent) -> None:
        correct = observation(e)
        if correct is None or e.topic_id is None:
            return
        p = update(state["p"], correct, params.for_topic(e.topic_id))
        state["p"] = p if p < 0.999 else 0.3  # keep it moving, away from 1
        knowledge_level(p)

    figures = {
        "update_us": _best_us(update_only),
        "per_answer_event_us": _best_us(lambda: on_event(answer)),
        "per_other_event_us": _best_us(lambda: on_event(other)),
    }
    figures["share_of_turn_pct"] = figures["per_answer_event_us"] / TURN_US * 100
    return figures


def fit_times() -> dict[str, Any]:
    per_10k: list[float] = []
    for seed in range(REPEAT):
        cohort = synthetic_cohort(TRUE, 500, 20, random.Random(seed))
        start = time.perf_counter()
        fit(cohort, rng=random.Random(seed))
        per_10k.append(time.perf_counter() - start)
    cohort = synthetic_cohort(TRUE, 400, 20, random.Random(0))
    start = time.perf_counter()
    result = fit(cohort, rng=random.Random(0))
    return {
        "fit_s_per_10k_median": statistics.median(per_10k),
        "fit_s_per_10k_min": min(per_10k),
        "fit_s_per_10k_max": max(per_10k),
        "fit_s_400x20": time.perf_counter() - start,
        "iterations_400x20": result.iterations,
    }


SPINNERS = 10_000


def spinners() -> dict[str, dict[str, float]]:
    rng = random.Random(7)
    cohorts = {
        "random_half_right": [[rng.random() < 0.5 for _ in range(20)] for _ in range(SPINNERS)],
        "guess_rate_never_learns": [
            [rng.random() < DEFAULT_PARAMETERS.guess for _ in range(20)] for _ in range(SPINNERS)
        ],
        "bkt_learners": synthetic_cohort(DEFAULT_PARAMETERS, SPINNERS, 20, rng),
    }
    out: dict[str, dict[str, float]] = {}
    for name, cohort in cohorts.items():
        traces = [trace(answers, DEFAULT_PARAMETERS) for answers in cohort]
        out[name] = {
            "touched_within_10": sum(max(t[:10]) >= MASTERED_AT for t in traces) / SPINNERS,
            "touched_within_20": sum(max(t) >= MASTERED_AT for t in traces) / SPINNERS,
            "mastered_after_20": sum(t[-1] >= MASTERED_AT for t in traces) / SPINNERS,
            # the wheel_spinning alert within 20 answers (10 attempts, mastery 0.95), as
            # actors/rules.py reads it, "not at mastery now", and as "never reached" would
            "wheel_spinning_now": sum(map(_flagged_now, traces)) / SPINNERS,
            "wheel_spinning_never_reached": sum(
                max(published(p) for p in t[:SPINNING_ATTEMPTS]) < MASTERED_AT for t in traces
            )
            / SPINNERS,
        }
    return out


SPINNING_ATTEMPTS = 10


def _flagged_now(probabilities: list[float]) -> bool:
    """Whether some answer from the 10th on leaves the probability, as shown, below
    mastery: when the wheel_spinning rule raises its alert."""
    return any(published(p) < MASTERED_AT for p in probabilities[SPINNING_ATTEMPTS - 1 :])


def recovery(seeds: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, true in (("TRUE", TRUE), ("FAST", FAST)):
        errors: dict[str, list[float]] = {k: [] for k in PARAMETER_NAMES}
        aucs: list[float] = []
        losses: dict[str, list[float]] = {"fitted": [], "default": [], "true": []}
        for seed in range(seeds):
            rng = random.Random(seed)
            train = synthetic_cohort(true, 400, 20, rng)
            held_out = synthetic_cohort(true, 200, 20, rng)
            fitted = fit(train, rng=random.Random(seed)).parameters
            for k, v in fitted.to_dict().items():
                errors[k].append(abs(v - true.to_dict()[k]))
            result = evaluate(fitted, held_out)
            aucs.append(result.auc)
            losses["fitted"].append(result.log_loss)
            losses["default"].append(evaluate(DEFAULT_PARAMETERS, held_out).log_loss)
            losses["true"].append(evaluate(true, held_out).log_loss)
        out[name] = {
            "true": true.to_dict(),
            "max_error": {k: max(v) for k, v in errors.items()},
            "p95_error": {k: sorted(v)[int(0.95 * (len(v) - 1))] for k, v in errors.items()},
            "auc_min_median_max": [min(aucs), statistics.median(aucs), max(aucs)],
            "log_loss_median": {k: statistics.median(v) for k, v in losses.items()},
            "fitted_beats_default": sum(
                f < d for f, d in zip(losses["fitted"], losses["default"], strict=True)
            ),
            "seeds": seeds,
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recovery", type=int, default=0, metavar="N", help="seeds per set")
    args = parser.parse_args()
    figures: dict[str, Any] = per_observation()
    _out(f"update alone:                 {figures['update_us']:.2f} us")
    _out(
        f"per answer event (actor):     {figures['per_answer_event_us']:.2f} us"
        f" = {figures['share_of_turn_pct']:.3f} % of a {TURN_US / 1000:.0f} ms turn"
    )
    _out(f"per other event (actor):      {figures['per_other_event_us']:.2f} us")
    figures |= fit_times()
    _out(
        f"fit per 10,000 answers:       {figures['fit_s_per_10k_median']:.2f} s"
        f" (min {figures['fit_s_per_10k_min']:.2f}, max {figures['fit_s_per_10k_max']:.2f})"
    )
    _out(
        f"fit of 400 x 20 answers:      {figures['fit_s_400x20']:.2f} s,"
        f" {figures['iterations_400x20']} iterations"
    )
    figures["spinners"] = spinners()
    for name, shares in figures["spinners"].items():
        _out(f"{name + ':':29s} " + _rounded(shares, 3))
    if args.recovery:
        figures["recovery"] = recovery(args.recovery)
        for name, r in figures["recovery"].items():
            _out(f"recovery {name} {r['true']} over {r['seeds']} seeds:")
            _out("  max |error|   " + _rounded(r["max_error"], 3))
            _out("  p95 |error|   " + _rounded(r["p95_error"], 3))
            _out("  AUC min/median/max " + " / ".join(f"{v:.3f}" for v in r["auc_min_median_max"]))
            _out(
                "  log-loss median "
                + _rounded(r["log_loss_median"], 4)
                + f"; fitted below default in {r['fitted_beats_default']} of {r['seeds']}"
            )
    _out(json.dumps(figures))


if __name__ == "__main__":
    main()
