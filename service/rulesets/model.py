"""A rule set: the thresholds of the struggle rules, for all topics and per topic, and
how it becomes the domain's configuration (actors/config.py). Pure."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from actors.config import DomainConfig
from actors.knowledge_tracing import (
    VERSION_MAX,
    BktParameters,
    InvalidParameters,
    ParameterSet,
)
from actors.vocabulary import STUDENT_ID_MAX, STUDENT_ID_PATTERN, parse_rfc3339

# PostgreSQL's text and JSONB hold no NUL character: refused here, not by a 500 there.
NO_NUL = r"^[^\x00]*$"
MAX_VERSION = 2**31 - 1  # rule_sets.version is an integer
Text200 = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_NUL)]
TopicId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=NO_NUL)]


class TopicThresholds(BaseModel):
    """Thresholds that may differ per topic; absent: the rule set's own. Strict, as the
    events are: ``true`` is not a threshold, ``"5"`` is not a count. The lower bounds
    keep a rule set from firing deadlines in a loop (the settings may go lower, for
    tests)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    repeated_error_count: int | None = Field(default=None, ge=1, le=1000)
    consecutive_failure_count: int | None = Field(default=None, ge=1, le=1000)
    stuck_minutes: float | None = Field(default=None, ge=1, le=7 * 24 * 60)
    quiz_low_below: float | None = Field(default=None, ge=0, le=100)
    quiz_high_below: float | None = Field(default=None, ge=0, le=100)
    misconception_share: float | None = Field(default=None, ge=0.01, le=1)
    misconception_min_students: int | None = Field(default=None, ge=1, le=10000)
    wheel_spinning_attempts: int | None = Field(default=None, ge=1, le=1000)
    wheel_spinning_mastery: float | None = Field(default=None, gt=0, lt=1)


class Thresholds(TopicThresholds):
    """Thresholds for every topic; absent: the service's settings (docs/rules.md)."""

    inactivity_days: float | None = Field(default=None, ge=1 / 24, le=365)
    help_phrases: list[Text200] | None = Field(default=None, max_length=200)
    misconception_window_hours: float | None = Field(default=None, ge=1, le=24 * 30)


Probability = Annotated[float, Field(gt=0, lt=1)]


class BktParametersIn(BaseModel):
    """The four parameters of Bayesian Knowledge Tracing (docs/rules.md, "Mastery as a
    probability"), each strictly between 0 and 1, guess + slip below 1."""

    model_config = ConfigDict(extra="forbid", strict=True)

    prior: Probability = Field(description="P(known) before the first observation")
    learn: Probability = Field(description="P(not known -> known) at each observation")
    guess: Probability = Field(description="P(right answer | not known)")
    slip: Probability = Field(description="P(wrong answer | known)")

    @model_validator(mode="after")
    def _usable(self) -> BktParametersIn:
        try:
            self.parameters()
        except InvalidParameters as exc:  # guess + slip >= 1
            raise ValueError(str(exc)) from exc
        return self

    def parameters(self) -> BktParameters:
        return BktParameters(prior=self.prior, learn=self.learn, guess=self.guess, slip=self.slip)


class KnowledgeTracingIn(BaseModel):
    """Knowledge tracing parameters (a fit's, or an admin's choice), over the
    curriculum's: ``default`` for every topic, ``topics`` where a topic's differ; a topic
    in neither keeps the curriculum's. ``version`` names the set on the alerts that use
    it (wheel_spinning's evidence)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    version: Annotated[
        str, StringConstraints(min_length=1, max_length=VERSION_MAX, pattern=NO_NUL)
    ] = Field(description="names these parameters, e.g. the fit that produced them")
    default: BktParametersIn | None = Field(
        default=None, description="for every topic; absent: the curriculum's"
    )
    topics: dict[TopicId, BktParametersIn] = Field(
        default_factory=dict, max_length=1000, description="per topic_id"
    )


class RuleSetIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    thresholds: Thresholds = Field(default_factory=Thresholds)
    topics: dict[TopicId, TopicThresholds] = Field(
        default_factory=dict, max_length=1000, description="per topic_id"
    )
    knowledge_tracing: KnowledgeTracingIn | None = Field(
        default=None, description="absent: the curriculum's parameters (docs/rules.md)"
    )
    note: str = Field(
        default="", max_length=2000, pattern=NO_NUL, description="why, for whoever reads it"
    )

    def stored(self) -> dict[str, Any]:
        """What the rule_sets table keeps (the note has a column of its own). A field
        added after the release before is left out while unset, so that release still
        reads the rule set (decision 012); one that sets it is refused there (its
        rules in force stay, logged as rule_set_refresh_failed)."""
        body = self.model_dump(mode="json", exclude={"note"})
        for fields in (body, body["thresholds"], *body["topics"].values()):
            for name in ADDED_FIELDS:
                if name in fields and fields[name] is None:
                    del fields[name]
        return body


# Fields of RuleSetIn and its thresholds the release before does not know (it forbids
# unknown fields): issue 24's.
ADDED_FIELDS = ("knowledge_tracing", "wheel_spinning_attempts", "wheel_spinning_mastery")


def _parameters(base: ParameterSet, given: KnowledgeTracingIn | None) -> ParameterSet:
    """``given`` over the curriculum's ``base``; ``base`` itself when none."""
    if given is None:
        return base
    return ParameterSet(
        version=given.version,
        default=given.default.parameters() if given.default is not None else base.default,
        topics={**base.topics, **{t: p.parameters() for t, p in given.topics.items()}},
    )


def _fields(thresholds: TopicThresholds) -> dict[str, Any]:
    """The DomainConfig fields a set of thresholds changes."""
    out: dict[str, Any] = {}
    for name, value in thresholds.model_dump(exclude_none=True).items():
        if name == "stuck_minutes":
            out["stuck_after"] = timedelta(minutes=value)
        elif name == "inactivity_days":
            out["inactivity_after"] = timedelta(days=value)
        elif name == "misconception_window_hours":
            out["misconception_window"] = timedelta(hours=value)
        elif name == "help_phrases":
            out["help_phrases"] = tuple(value)
        else:
            out[name] = value
    return out


def to_config(base: DomainConfig, rules: RuleSetIn, version: int) -> DomainConfig:
    """``base`` (the settings' configuration) with the rule set's thresholds and
    knowledge tracing parameters: they hold on every alert raised under it, which records
    ``version``."""
    return replace(
        base,
        **_fields(rules.thresholds),
        knowledge_tracing=_parameters(base.knowledge_tracing, rules.knowledge_tracing),
        rules_version=version,
        topic_rules={topic: _fields(t) for topic, t in rules.topics.items() if _fields(t)},
    )


class DryRunIn(BaseModel):
    """A candidate (``rule_set``, or a created ``version``) replayed over the retained
    events of ``class_id``'s students, or of every student active between ``from`` and
    ``to`` (default: the whole retention up to now)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, strict=True)

    rule_set: RuleSetIn | None = None
    version: int | None = Field(default=None, ge=1, le=MAX_VERSION)
    class_id: (
        Annotated[
            str,
            StringConstraints(min_length=1, max_length=STUDENT_ID_MAX, pattern=STUDENT_ID_PATTERN),
        ]
        | None
    ) = None
    since_text: str | None = Field(
        default=None, alias="from", max_length=64, json_schema_extra={"format": "date-time"}
    )
    until_text: str | None = Field(
        default=None, alias="to", max_length=64, json_schema_extra={"format": "date-time"}
    )

    @model_validator(mode="after")
    def _one_candidate(self) -> DryRunIn:
        if (self.rule_set is None) == (self.version is None):
            raise ValueError("give exactly one of rule_set and version")
        if self.since is not None and self.until is not None and self.since > self.until:
            raise ValueError("from must not be after to")
        return self

    @property
    def since(self) -> datetime | None:
        return None if self.since_text is None else parse_rfc3339(self.since_text, "from")

    @property
    def until(self) -> datetime | None:
        return None if self.until_text is None else parse_rfc3339(self.until_text, "to")
