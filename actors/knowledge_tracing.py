"""Bayesian Knowledge Tracing (Corbett & Anderson 1995): how likely a student is to have
learnt a topic, updated from each observation. Pure functions, no I/O, no clock.

The weighted score (actors/mastery.py) says how much a student has done well; it cannot
tell a student who keeps trying without progress from one who learns slowly. BKT models
each topic as a skill the student either knows or does not yet know, and each answer as
noisy evidence of which:

- ``prior``: P(known) before the first observation;
- ``learn``: P(not known -> known) after each opportunity (no forgetting);
- ``guess``: P(correct | not known);
- ``slip``: P(incorrect | known).

An observation first conditions P(known) on the answer (Bayes), then applies the learning
transition, so the probability published after an answer is the one that predicts the
next answer. The parameters are data, per topic (:class:`ParameterSet`), fitted from the
retained event log by ``actors/mastery_fit.py``; why a fit written here and not pyBKT:
docs/decisions/020-knowledge-tracing-fitted-here.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from actors.events import ExerciseSubmitted, LearningEvent, QuizGraded

PARAMETER_NAMES: tuple[str, ...] = ("prior", "learn", "guess", "slip")

# Levels read off the probability, highest first: (lowest probability, name). They sit
# next to the score's levels (Beginner / Learning / Proficient / Mastered) and answer a
# different question: not "how much has the student done well" but "how sure are we that
# the student has learnt it". What a teacher should read from each:
MASTERED_AT = 0.95  # "Mastered": learnt, with the confidence BKT's mastery criterion uses
# (Corbett & Anderson): move on. Not final: with the default parameters a wrong answer
# just after reaching it falls back to Uncertain (0.95 -> 0.73), after a longer run of
# right answers it stays (0.998 -> 0.986).
LIKELY_AT = 0.8  # "Likely": probably learnt, not yet shown reliably: a few more right
# answers settle it; one wrong answer takes it back to "Uncertain" or below.
UNCERTAIN_AT = 0.5  # "Uncertain": more likely learnt than not, but the answers are mixed:
# keep practising; watch the trend (and the wheel-spinning alert) rather than one answer.
# Below UNCERTAIN_AT: "Unlikely": more likely not learnt than learnt: the student needs
# teaching or practice on this topic (every topic starts here with the default prior).
MASTERED = "Mastered"
LIKELY = "Likely"
UNCERTAIN = "Uncertain"
UNLIKELY = "Unlikely"
LEVELS: tuple[tuple[float, str], ...] = (
    (MASTERED_AT, MASTERED),
    (LIKELY_AT, LIKELY),
    (UNCERTAIN_AT, UNCERTAIN),
    (0.0, UNLIKELY),
)

# A quiz graded at or above this score is a correct answer, below it an incorrect one.
# The contract names no pass mark; 50 is where the low_quiz rule starts to call a score
# low (DomainConfig.quiz_low_below's default), so by default the two agree. Callers pass
# the mark that holds in the topic: the actor's turn passes the topic's quiz_low_below
# (actors/rules.py), so a quiz that raises low_quiz is always a wrong answer.
QUIZ_PASS_MARK = 50.0

VERSION_MAX = 200  # characters of a ParameterSet's version


class InvalidParameters(ValueError):
    """Parameters that BKT cannot use, or a stored form that is not a parameter set."""


@dataclass(frozen=True, slots=True)
class BktParameters:
    """The four parameters of one topic. Validated on construction:

    - each strictly between 0 and 1: at 0 or 1 an answer can have probability zero under
      one of the states (e.g. guess 0: a correct answer proves knowing, and a later wrong
      answer with slip 0 is impossible, a division by zero), or P(known) can never move
      (prior 1, learn 1);
    - ``guess + slip < 1``, i.e. P(correct | known) = 1 - slip is above
      P(correct | not known) = guess: only then is a correct answer evidence of knowing.
      At 1 an answer says nothing; above 1 the model is inverted ("knowing" predicts wrong
      answers) and a correct answer would lower P(known), which no teacher would read
      right.
    """

    prior: float
    learn: float
    guess: float
    slip: float

    def __post_init__(self) -> None:
        for name in PARAMETER_NAMES:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidParameters(f"{name} must be a number, got {type(value).__name__}")
            if not 0.0 < value < 1.0:  # NaN fails this too
                raise InvalidParameters(f"{name} must be strictly between 0 and 1, got {value}")
        if self.guess + self.slip >= 1.0:
            raise InvalidParameters(
                f"guess + slip must be below 1 (got {self.guess} + {self.slip}): otherwise a "
                "correct answer is no evidence that the student knows the topic"
            )

    def to_dict(self) -> dict[str, float]:
        return {name: float(getattr(self, name)) for name in PARAMETER_NAMES}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BktParameters:
        """Strict: exactly the four names (a misspelt one is an error, not a default)."""
        if not isinstance(data, Mapping):
            raise InvalidParameters(f"parameters must be an object, got {type(data).__name__}")
        missing = [n for n in PARAMETER_NAMES if n not in data]
        unknown = sorted(str(k) for k in data if k not in PARAMETER_NAMES)
        if missing or unknown:
            raise InvalidParameters(f"parameters: missing {missing}, unknown {unknown}")
        return cls(**{name: data[name] for name in PARAMETER_NAMES})


# Where no fit has been applied. A student who answers right four times in a row from the
# prior reaches MASTERED_AT (0.10 -> 0.40 -> 0.78 -> 0.94 -> 0.99); guess 0.2 allows for
# a pass by luck or help, slip 0.1 for a careless failure.
DEFAULT_PARAMETERS = BktParameters(prior=0.1, learn=0.1, guess=0.2, slip=0.1)


def p_correct(p_known: float, params: BktParameters) -> float:
    """The probability that the next answer is correct, given P(known) before it."""
    return p_known * (1.0 - params.slip) + (1.0 - p_known) * params.guess


def posterior(p_known: float, correct: bool, params: BktParameters) -> float:
    """P(known) given the answer just observed (Bayes), before the learning transition.
    The denominator is never 0: the parameters are strictly inside (0, 1)."""
    if correct:
        known = p_known * (1.0 - params.slip)
        return known / (known + (1.0 - p_known) * params.guess)
    known = p_known * params.slip
    return known / (known + (1.0 - p_known) * (1.0 - params.guess))


def update(p_known: float, correct: bool, params: BktParameters) -> float:
    """P(known) after one observation: the posterior, then the chance to learn from the
    opportunity. A correct answer never lowers it (guess + slip < 1); an incorrect one
    lowers the posterior, but the learning transition can lift the result above where it
    started when P(known) was low and ``learn`` high."""
    if not 0.0 <= p_known <= 1.0:
        raise ValueError(f"p_known must be within [0, 1], got {p_known}")
    known = posterior(p_known, correct, params)
    return known + (1.0 - known) * params.learn


def trace(answers: Iterable[bool], params: BktParameters) -> list[float]:
    """P(known) after each answer, starting from the prior (the probability over time a
    wheel-spinning alert shows as evidence)."""
    out: list[float] = []
    p = params.prior
    for correct in answers:
        p = update(p, correct, params)
        out.append(p)
    return out


PUBLISHED_DECIMALS = 3


def published(p_known: float) -> float:
    """The probability as the service shows it (GET /progress, the class table), rounded
    to PUBLISHED_DECIMALS. Its level and the wheel_spinning alert read this value, so
    what a teacher sees agrees with both: 0.9496 shows as 0.95, Mastered."""
    return round(p_known, PUBLISHED_DECIMALS)


def knowledge_level(p_known: float) -> str:
    """The level a teacher reads next to the probability (see LEVELS for each meaning).
    A boundary belongs to the level above it: 0.95 is Mastered."""
    for lowest, name in LEVELS:
        if p_known >= lowest:
            return name
    return UNLIKELY  # only for a negative or NaN input, which update() never yields


def observation(event: LearningEvent, quiz_pass_mark: float = QUIZ_PASS_MARK) -> bool | None:
    """Whether ``event`` is an answer BKT learns from, and if so whether it is correct:

    - ``exercise.submitted``: ``passed`` (the exercise's own tests decided);
    - ``exercise.quiz_graded``: ``score`` at or above ``quiz_pass_mark``.

    Every other event is None: starting an exercise or a lesson, a message, a code run
    (a failed run on the way to a passing submission is work in progress, not a wrong
    answer) and a code review (a quality rating of code that already passed) say nothing
    about right or wrong. The topic is the event's ``topic_id``."""
    if isinstance(event, ExerciseSubmitted):
        return event.passed
    if isinstance(event, QuizGraded):
        return event.score >= quiz_pass_mark
    return None


def _check_version(version: object) -> str:
    if not isinstance(version, str) or not 0 < len(version) <= VERSION_MAX or "\x00" in version:
        raise InvalidParameters(
            f"version must be a text of 1 to {VERSION_MAX} characters without NUL"
        )
    return version


@dataclass(frozen=True)
class ParameterSet:
    """The parameters in force: ``default`` for every topic, ``topics`` where a topic's
    differ (a fit, or an admin's choice). Versioned and stored as JSON like a rule set,
    so a fit can be looked at (dry run) before an admin applies it, and every published
    probability can say which parameters computed it. Immutable: ``topics`` is a
    read-only mapping."""

    version: str
    default: BktParameters = DEFAULT_PARAMETERS
    topics: Mapping[str, BktParameters] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_version(self.version)
        for topic, params in self.topics.items():
            if not isinstance(topic, str) or not topic:
                raise InvalidParameters(f"topic ids must be non-empty texts, got {topic!r}")
            if not isinstance(params, BktParameters):
                raise InvalidParameters(f"topic {topic!r}: not BktParameters")
        object.__setattr__(self, "topics", MappingProxyType(dict(self.topics)))

    def for_topic(self, topic_id: str) -> BktParameters:
        return self.topics.get(topic_id, self.default)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "default": self.default.to_dict(),
            "topics": {t: p.to_dict() for t, p in sorted(self.topics.items())},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ParameterSet:
        if not isinstance(data, Mapping):
            raise InvalidParameters(f"a parameter set is an object, got {type(data).__name__}")
        unknown = sorted(str(k) for k in data if k not in ("version", "default", "topics"))
        if unknown or "version" not in data:
            raise InvalidParameters(f"parameter set: version required; unknown {unknown}")
        topics = data.get("topics", {})
        if not isinstance(topics, Mapping):
            raise InvalidParameters("topics must be an object of topic id -> parameters")
        default = (
            BktParameters.from_dict(data["default"]) if "default" in data else DEFAULT_PARAMETERS
        )
        per_topic = {t: BktParameters.from_dict(p) for t, p in topics.items()}
        return cls(version=data["version"], default=default, topics=per_topic)


DEFAULT_VERSION = "default"
# In force where neither the curriculum (config/curriculum.toml, [knowledge_tracing]) nor
# an applied rule set gives parameters (actors/config.py DomainConfig.knowledge_tracing).
DEFAULT_PARAMETER_SET = ParameterSet(version=DEFAULT_VERSION)
