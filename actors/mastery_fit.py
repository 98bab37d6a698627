"""Fitting the knowledge-tracing parameters (actors/knowledge_tracing.py) from what
students answered, and measuring how well they predict. Pure: no I/O, no clock; the
randomness comes from a seeded ``random.Random`` the caller can pass.

The fit is expectation-maximisation (Baum-Welch) on BKT's two-state hidden Markov model:
state "not known" or "known", the first state known with probability ``prior``, a
not-known state becoming known with probability ``learn`` after each answer (never the
other way), and each answer correct with probability ``guess`` (not known) or
``1 - slip`` (known). The E-step is the scaled forward-backward pass, written out for two
states; the M-step is the closed form, clamped to the bounds below. Why this and not
pyBKT: docs/decisions/020-knowledge-tracing-fitted-here.md.

Also here: a synthetic cohort with known parameters (to show the fit recovers them), the
held-out evaluation (log-loss and AUC of predicting each next answer) and the grouping of
retained events into answer sequences per topic and student.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from actors.events import LearningEvent
from actors.knowledge_tracing import (
    DEFAULT_PARAMETERS,
    QUIZ_PASS_MARK,
    BktParameters,
    ParameterSet,
    observation,
    p_correct,
    update,
)

# Bounds of the fit. Guess and slip at most 0.3 (the bound of Corbett & Anderson's fits
# for guess): BKT's likelihood has more than one explanation for the same answers, and
# the ones with a large guess or slip are degenerate (Baker, Corbett & Aleven 2008): a
# high guess explains a learner's right answers as luck, so P(known) hardly moves with
# them; a high slip explains a learner's early wrong answers as carelessness of someone
# who knew all along; and past guess + slip = 1 "known" predicts wrong answers. Capped at
# 0.3 each, guess + slip <= 0.6 and P(known) keeps the meaning a teacher reads into it.
GUESS_MAX = 0.3
SLIP_MAX = 0.3
# Every parameter stays this far inside (0, 1): BktParameters refuses 0 and 1.
EDGE = 1e-4

RESTARTS = 4  # starting points: one from the data, the rest random
WARMUP_ITERATIONS = 8  # each start runs this many; only the best goes on to convergence
MAX_ITERATIONS = 300
# Converged when an iteration improves the log-likelihood by less than this per answer.
TOLERANCE = 1e-9

# A topic with fewer answers, or fewer students, keeps the default parameters: a fit on
# little data would move every student's probability on noise.
MIN_OBSERVATIONS = 500
MIN_STUDENTS = 30

Sequences = Sequence[Sequence[bool]]


@dataclass(frozen=True)
class FitResult:
    parameters: BktParameters
    log_likelihood: float  # of the training answers under ``parameters`` (natural log)
    iterations: int  # EM iterations of the run that won, warm-up included
    converged: bool  # False: stopped at the iteration cap
    observations: int
    students: int


@dataclass(frozen=True)
class Evaluation:
    log_loss: float  # mean negative log-likelihood of each answer, natural log
    auc: float  # P(a correct answer was predicted likelier than an incorrect one)
    predictions: int


# -- the fit -------------------------------------------------------------------------


def _groups(sequences: Sequences) -> list[tuple[tuple[bool, ...], int]]:
    """Identical sequences once, with their count: the E-step is linear in them."""
    counts = Counter(tuple(bool(a) for a in s) for s in sequences if len(s) > 0)
    return list(counts.items())


def _e_step(
    params: tuple[float, float, float, float], groups: list[tuple[tuple[bool, ...], int]]
) -> tuple[tuple[float, float, float, float], float]:
    """One forward-backward pass over every sequence: the expected counts the M-step
    needs, and the log-likelihood. Scaled (each forward step normalised, its scale's log
    summed) so long sequences do not underflow. Returns the M-step's estimates,
    unclamped, and the log-likelihood of ``params``."""
    prior, learn, guess, slip = params
    stay = 1.0 - learn
    # emission probabilities: [answer] for state not known (0) and known (1)
    e0 = (1.0 - guess, guess)  # index by int(correct)
    e1 = (slip, 1.0 - slip)
    log_likelihood = 0.0
    prior_num = 0.0
    total = 0
    learn_num = learn_den = 0.0
    guess_num = guess_den = 0.0
    slip_num = slip_den = 0.0
    for seq, weight in groups:
        n = len(seq)
        f0: list[float] = [0.0] * n  # scaled forward: P(state_t | answers up to t)
        f1: list[float] = [0.0] * n
        scale: list[float] = [0.0] * n
        o = seq[0]
        a0 = (1.0 - prior) * e0[o]
        a1 = prior * e1[o]
        c = a0 + a1
        f0[0] = a0 / c
        f1[0] = a1 / c
        scale[0] = c
        log_c = math.log(c)
        for t in range(1, n):
            o = seq[t]
            p0 = f0[t - 1]
            a0 = p0 * stay * e0[o]
            a1 = (p0 * learn + f1[t - 1]) * e1[o]
            c = a0 + a1
            f0[t] = a0 / c
            f1[t] = a1 / c
            scale[t] = c
            log_c += math.log(c)
        log_likelihood += weight * log_c
        # backward, scaled by the same factors; gamma = posterior of the state at t
        b0 = b1 = 1.0
        g0 = f0[n - 1]
        g1 = f1[n - 1]
        s_g0 = g0
        s_g1 = g1
        s_g0_right = g0 if seq[n - 1] else 0.0
        s_g1_wrong = 0.0 if seq[n - 1] else g1
        s_xi01 = 0.0
        s_g0_moving = 0.0
        for t in range(n - 2, -1, -1):
            o = seq[t + 1]
            c = scale[t + 1]
            n0 = e0[o] * b0 / c
            n1 = e1[o] * b1 / c
            x01 = f0[t] * learn * n1
            b0 = stay * n0 + learn * n1
            b1 = n1
            g0 = f0[t] * b0
            g1 = f1[t] * b1
            s_xi01 += x01
            s_g0_moving += g0
            s_g0 += g0
            s_g1 += g1
            if seq[t]:
                s_g0_right += g0
            else:
                s_g1_wrong += g1
        prior_num_seq = g1  # gamma at t = 0, known
        total += weight
        prior_num += weight * prior_num_seq
        learn_num += weight * s_xi01
        learn_den += weight * s_g0_moving
        guess_num += weight * s_g0_right
        guess_den += weight * s_g0
        slip_num += weight * s_g1_wrong
        slip_den += weight * s_g1
    estimates = (
        prior_num / total,
        learn_num / learn_den if learn_den > 0 else learn,
        guess_num / guess_den if guess_den > 0 else guess,
        slip_num / slip_den if slip_den > 0 else slip,
    )
    return estimates, log_likelihood


def _clamp(
    estimates: tuple[float, float, float, float], guess_max: float, slip_max: float
) -> tuple[float, float, float, float]:
    """The bounded M-step. Each parameter's part of the expected log-likelihood is a
    Bernoulli log-likelihood of its own, concave with its maximum at the estimate, so the
    nearest bound is the maximum within the bounds: EM stays monotone."""
    prior, learn, guess, slip = estimates
    return (
        min(max(prior, EDGE), 1.0 - EDGE),
        min(max(learn, EDGE), 1.0 - EDGE),
        min(max(guess, EDGE), guess_max),
        min(max(slip, EDGE), slip_max),
    )


def _log_likelihood(
    params: tuple[float, float, float, float], groups: list[tuple[tuple[bool, ...], int]]
) -> float:
    return _e_step(params, groups)[1]


def _starts(
    groups: list[tuple[tuple[bool, ...], int]],
    restarts: int,
    rng: random.Random,
    guess_max: float,
    slip_max: float,
) -> list[tuple[float, float, float, float]]:
    """One start read off the data (prior from the first answers: their rate of correct
    answers is prior * (1 - slip) + (1 - prior) * guess), then random ones within the
    bounds, so that one poor local maximum does not decide."""
    firsts = sum(w for s, w in groups if s[0])
    students = sum(w for _, w in groups)
    guess0, slip0 = min(0.15, guess_max), min(0.1, slip_max)
    first_rate = firsts / students
    prior0 = (first_rate - guess0) / (1.0 - slip0 - guess0)
    starts = [_clamp((min(max(prior0, 0.05), 0.95), 0.1, guess0, slip0), guess_max, slip_max)]
    for _ in range(restarts - 1):
        starts.append(
            (
                rng.uniform(0.05, 0.6),
                rng.uniform(0.02, 0.4),
                rng.uniform(0.02, guess_max),
                rng.uniform(0.02, slip_max),
            )
        )
    return starts


def fit(
    sequences: Sequences,
    *,
    restarts: int = RESTARTS,
    max_iterations: int = MAX_ITERATIONS,
    tolerance: float = TOLERANCE,
    rng: random.Random | None = None,
    guess_max: float = GUESS_MAX,
    slip_max: float = SLIP_MAX,
) -> FitResult:
    """The four parameters of one topic from its students' answers, in order, one
    sequence per student (empty ones are ignored). Each of ``restarts`` starting points
    runs WARMUP_ITERATIONS EM iterations; the one with the highest log-likelihood goes on
    until an iteration gains less than ``tolerance`` per answer, or ``max_iterations``.
    Deterministic for a given ``rng`` seed (default: seed 0)."""
    if not 0.0 < guess_max + slip_max < 1.0 or guess_max <= EDGE or slip_max <= EDGE:
        raise ValueError("bounds must leave guess + slip below 1 and above 0")
    if restarts < 1 or max_iterations < 1:
        raise ValueError("restarts and max_iterations must be at least 1")
    groups = _groups(sequences)
    if not groups:
        raise ValueError("no answers to fit")
    observations = sum(len(s) * w for s, w in groups)
    students = sum(w for _, w in groups)
    rng = rng if rng is not None else random.Random(0)
    threshold = tolerance * observations

    def run(
        params: tuple[float, float, float, float], iterations: int
    ) -> tuple[tuple[float, float, float, float], float, int, bool]:
        """EM from ``params``; returns the parameters, their log-likelihood, iterations,
        converged."""
        previous = -math.inf
        for i in range(1, iterations + 1):
            estimates, ll = _e_step(params, groups)  # ll is that of ``params``
            if ll - previous < threshold:
                return params, ll, i - 1, True
            previous = ll
            params = _clamp(estimates, guess_max, slip_max)
        return params, _log_likelihood(params, groups), iterations, False

    warm = [
        run(start, min(WARMUP_ITERATIONS, max_iterations))
        for start in _starts(groups, restarts, rng, guess_max, slip_max)
    ]
    best_params, best_ll, done, converged = max(warm, key=lambda r: r[1])
    if not converged and done < max_iterations:
        best_params, best_ll, more, converged = run(best_params, max_iterations - done)
        done += more
    return FitResult(
        parameters=BktParameters(*best_params),
        log_likelihood=best_ll,
        iterations=done,
        converged=converged,
        observations=observations,
        students=students,
    )


def fit_each_topic(
    observations_by_topic: Mapping[str, Sequences],
    *,
    min_observations: int = MIN_OBSERVATIONS,
    min_students: int = MIN_STUDENTS,
    seed: int = 0,
) -> dict[str, FitResult]:
    """A fit per topic with enough data (the others are left out: they keep the
    default). Each topic's fit has its own seeded random source, so adding a topic does
    not change another's result."""
    results: dict[str, FitResult] = {}
    for topic in sorted(observations_by_topic):
        sequences = [s for s in observations_by_topic[topic] if len(s) > 0]
        answers = sum(len(s) for s in sequences)
        if answers < min_observations or len(sequences) < min_students:
            continue
        results[topic] = fit(sequences, rng=random.Random(f"{seed}:{topic}"))
    return results


def fit_topics(
    observations_by_topic: Mapping[str, Sequences],
    *,
    version: str,
    default: BktParameters = DEFAULT_PARAMETERS,
    min_observations: int = MIN_OBSERVATIONS,
    min_students: int = MIN_STUDENTS,
    seed: int = 0,
) -> ParameterSet:
    """A parameter set from a fit per topic (see :func:`fit_each_topic`); topics with
    too little data are absent and read ``default``."""
    results = fit_each_topic(
        observations_by_topic,
        min_observations=min_observations,
        min_students=min_students,
        seed=seed,
    )
    return ParameterSet(
        version=version,
        default=default,
        topics={topic: r.parameters for topic, r in results.items()},
    )


# -- data ----------------------------------------------------------------------------


def observation_sequences(
    events: Iterable[LearningEvent], quiz_pass_mark: float = QUIZ_PASS_MARK
) -> dict[str, list[list[bool]]]:
    """topic -> one answer sequence per student, in the order ``events`` come (give them
    in the order the actors applied them: the log's delivery order). Events that are not
    observations (knowledge_tracing.observation) are skipped."""
    by_topic: dict[str, dict[str, list[bool]]] = {}
    for event in events:
        answer = observation(event, quiz_pass_mark)
        if answer is None or event.topic_id is None:
            continue
        by_topic.setdefault(event.topic_id, {}).setdefault(event.student_id, []).append(answer)
    return {topic: [students[s] for s in sorted(students)] for topic, students in by_topic.items()}


def synthetic_cohort(
    params: BktParameters, students: int, attempts: int, rng: random.Random
) -> list[list[bool]]:
    """Answers of ``students`` simulated students, ``attempts`` each, drawn from the BKT
    model itself with ``params``: a cohort whose true parameters are known."""
    cohort: list[list[bool]] = []
    for _ in range(students):
        known = rng.random() < params.prior
        answers: list[bool] = []
        for _ in range(attempts):
            answers.append(rng.random() < (1.0 - params.slip if known else params.guess))
            if not known:
                known = rng.random() < params.learn
        cohort.append(answers)
    return cohort


# -- evaluation ----------------------------------------------------------------------


def predictions(params: BktParameters, sequences: Sequences) -> tuple[list[bool], list[float]]:
    """Each answer and the probability of a correct one predicted before it was seen,
    from the answers before it (what the actor would have shown at that moment)."""
    labels: list[bool] = []
    probabilities: list[float] = []
    for seq in sequences:
        p = params.prior
        for correct in seq:
            labels.append(bool(correct))
            probabilities.append(p_correct(p, params))
            p = update(p, bool(correct), params)
    return labels, probabilities


def log_loss(labels: Sequence[bool], probabilities: Sequence[float]) -> float:
    """Mean negative natural log of the probability given to what happened; the
    probabilities are clipped to [1e-15, 1 - 1e-15] so one certainty wrong is finite."""
    if len(labels) != len(probabilities) or not labels:
        raise ValueError("log_loss needs as many probabilities as labels, at least one")
    total = 0.0
    for y, p in zip(labels, probabilities, strict=True):
        q = min(max(p, 1e-15), 1.0 - 1e-15)
        total -= math.log(q if y else 1.0 - q)
    return total / len(labels)


def auc(labels: Sequence[bool], scores: Sequence[float]) -> float:
    """Area under the ROC curve by ranks (Mann-Whitney U): the probability that a random
    positive is scored above a random negative, ties counting one half (tied scores share
    their mean rank). Undefined, and an error, without both a positive and a negative."""
    if len(labels) != len(scores):
        raise ValueError("auc needs as many scores as labels")
    positives = sum(1 for y in labels if y)
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        raise ValueError("auc needs at least one positive and one negative label")
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    rank_sum = 0.0
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        mean_rank = (i + j) / 2.0 + 1.0  # ranks are 1-based
        rank_sum += mean_rank * sum(1 for k in range(i, j + 1) if labels[order[k]])
        i = j + 1
    return (rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives)


def evaluate(params: BktParameters, sequences: Sequences) -> Evaluation:
    """How well ``params`` predict each next answer of ``sequences`` (students the fit
    did not see)."""
    labels, probabilities = predictions(params, sequences)
    return Evaluation(
        log_loss=log_loss(labels, probabilities),
        auc=auc(labels, probabilities),
        predictions=len(labels),
    )
