"""xAPI statements -> this service's learning events, by a mapping kept as data
(config/xapi-mapping.toml; docs/xapi.md). Pure: no I/O once the mapping is loaded.

A statement (already validated as xAPI, ``service/frontend/xapi/validation.py``) becomes one
event, is ignored (no rule covers it: counted, never an error), or is refused with the
field at fault (an actor with no id the mapping can use, a score outside its range).
The statement id becomes the event's ``event_id``: a statement that arrives twice is
one event, which the student's actor counts once.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from actors.events import EVENT_TYPES
from actors.vocabulary import STUDENT_ID_MAX, STUDENT_ID_PATTERN

REF_MAX = 128  # the events' id fields (exercise_id, quiz_id, lesson_id, topic_id)
TEXT_MAX = 4000  # learning.message's text
_STUDENT_ID = re.compile(STUDENT_ID_PATTERN)
MboxRule = Literal["sha1", "local-part", "reject"]
TOPIC_SOURCES = frozenset({"extension", "parent", "grouping", "object"})
# what each event type needs from result, besides the object's id
_NEEDS: dict[str, str] = {
    "exercise.quiz_graded": "score",
    "exercise.submitted": "success or score",
    "learning.message": "response",
}


class MappingError(ValueError):
    """The mapping file itself is wrong: the service does not start."""


class StatementRefused(ValueError):
    """A statement the mapping cannot turn into an event although it should: the whole
    request is refused (400) naming ``field``."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class Rule:
    verbs: frozenset[str]
    activity_types: frozenset[str]  # empty: any type (or none)
    event: str
    success: bool | None = None  # result.success when the statement has none


@dataclass(frozen=True)
class Mapping:
    version: str
    rules: tuple[Rule, ...]
    account_home_pages: frozenset[str] = frozenset()
    mbox: MboxRule = "sha1"
    topic_extension: str = "urn:progress-service:topic"
    topic_sources: tuple[str, ...] = ("extension", "parent", "grouping", "object")
    activity_topics: dict[str, str] = field(default_factory=dict)
    unlisted: Literal["ignore", "parent-id"] = "ignore"


@dataclass(frozen=True)
class Mapped:
    """The event a statement becomes: its CloudEvent ``type`` and ``data``."""

    type: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Ignored:
    reason: str


def load_mapping(path: Path) -> Mapping:
    """Read and check a mapping file; MappingError names what is wrong."""
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise MappingError(f"{path}: {exc}") from exc
    return parse_mapping(raw, str(path))


def parse_mapping(raw: dict[str, Any], where: str = "mapping") -> Mapping:
    actor = raw.get("actor", {})
    topic = raw.get("topic", {})
    rules = []
    for i, spec in enumerate(raw.get("rule", [])):
        event = spec.get("event")
        if event not in EVENT_TYPES:
            raise MappingError(f"{where}: rule {i}: unknown event {event!r}")
        if event.startswith("code."):
            raise MappingError(f"{where}: rule {i}: {event} has no xAPI counterpart here")
        verbs = spec.get("verbs")
        if not verbs or not all(isinstance(v, str) for v in verbs):
            raise MappingError(f"{where}: rule {i}: 'verbs' must list verb IRIs")
        success = spec.get("success")
        if success is not None and not isinstance(success, bool):
            raise MappingError(f"{where}: rule {i}: 'success' must be true or false")
        rules.append(
            Rule(frozenset(verbs), frozenset(spec.get("activity_types", [])), event, success)
        )
    mbox = actor.get("mbox", "sha1")
    if mbox not in ("sha1", "local-part", "reject"):
        raise MappingError(f"{where}: actor.mbox must be sha1, local-part or reject")
    sources = tuple(topic.get("sources", Mapping.topic_sources))
    if not set(sources) <= TOPIC_SOURCES:
        raise MappingError(f"{where}: topic.sources: only {sorted(TOPIC_SOURCES)}")
    unlisted = topic.get("unlisted", "ignore")
    if unlisted not in ("ignore", "parent-id"):
        raise MappingError(f"{where}: topic.unlisted must be ignore or parent-id")
    activities = dict(topic.get("activities", {}))
    for iri, topic_id in activities.items():
        if not isinstance(topic_id, str) or not 0 < len(topic_id) <= REF_MAX:
            raise MappingError(f"{where}: topic.activities[{iri!r}]: a topic id of 1-128 chars")
    return Mapping(
        version=str(raw.get("version", "unversioned")),
        rules=tuple(rules),
        account_home_pages=frozenset(actor.get("account_home_pages", [])),
        mbox=mbox,
        topic_extension=str(topic.get("extension", Mapping.topic_extension)),
        topic_sources=sources,
        activity_topics=activities,
        unlisted=unlisted,
    )


def ref(iri: str) -> str:
    """An activity IRI as an event's id field: itself up to 128 characters, a digest of
    it beyond (stable, so the same activity is always the same id)."""
    if len(iri) <= REF_MAX:
        return iri
    return "sha1:" + hashlib.sha1(iri.encode()).hexdigest()


def _student_id(candidate: str, field: str) -> str:
    if len(candidate) > STUDENT_ID_MAX or not _STUDENT_ID.fullmatch(candidate):
        raise StatementRefused(
            field,
            f"{candidate!r} is not a usable student id (1-{STUDENT_ID_MAX} characters of "
            "A-Z a-z 0-9 _ . : @ -)",
        )
    return candidate


def student_of(actor: dict[str, Any], mapping: Mapping) -> str:
    """The student id of a statement's actor (an Agent), by the mapping's rules."""
    account = actor.get("account")
    if isinstance(account, dict):
        home = account.get("homePage")
        if mapping.account_home_pages and home not in mapping.account_home_pages:
            raise StatementRefused(
                "actor.account.homePage", f"{home!r} is not one of the configured systems"
            )
        return _student_id(str(account.get("name", "")), "actor.account.name")
    mbox, digest = actor.get("mbox"), actor.get("mbox_sha1sum")
    if mbox is None and digest is None:
        raise StatementRefused(
            "actor", "no account, mbox or mbox_sha1sum: no student id to map (openid is not used)"
        )
    where = "actor.mbox" if mbox is not None else "actor.mbox_sha1sum"
    if mapping.mbox == "reject":
        raise StatementRefused(where, "this service takes students by actor.account only")
    if mapping.mbox == "local-part":
        if mbox is None:
            raise StatementRefused(where, "the local-part rule needs actor.mbox, not a digest")
        return _student_id(str(mbox).removeprefix("mailto:").split("@", 1)[0], where)
    if digest is None:
        digest = hashlib.sha1(str(mbox).encode()).hexdigest()
    return _student_id(f"mbox-sha1:{str(digest).lower()}", where)


def _activities(context: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    found = (context.get("contextActivities") or {}).get(kind)
    if isinstance(found, dict):
        return [found]
    return [a for a in found or [] if isinstance(a, dict)]


def topic_of(statement: dict[str, Any], mapping: Mapping) -> str | None:
    """The topic id by the mapping's sources, in order; None when none gives one."""
    context = statement.get("context") or {}
    obj = statement.get("object") or {}
    for source in mapping.topic_sources:
        if source == "extension":
            definition = obj.get("definition") or {}
            for extensions in (context.get("extensions"), definition.get("extensions")):
                value = (extensions or {}).get(mapping.topic_extension)
                if isinstance(value, str) and 0 < len(value) <= REF_MAX:
                    return value
        elif source == "object":
            if obj.get("id") in mapping.activity_topics:
                return mapping.activity_topics[obj["id"]]
        else:
            for activity in _activities(context, source):
                if activity.get("id") in mapping.activity_topics:
                    return mapping.activity_topics[activity["id"]]
    if mapping.unlisted == "parent-id":
        for kind in ("parent", "grouping"):
            for activity in _activities(context, kind):
                if isinstance(activity.get("id"), str):
                    return ref(activity["id"])
    return None


def _number(value: object, field: str) -> float | None:
    """A score part as a number (xAPI's JSON numbers; Ralph also lets numeric text by)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise StatementRefused(field, f"{value!r} is not a number")
    try:
        number = float(value)
    except ValueError as exc:
        raise StatementRefused(field, f"{value!r} is not a number") from exc
    if number != number or number in (float("inf"), float("-inf")):
        raise StatementRefused(field, f"{value!r} is not a finite number")
    return number


def score_of(result: dict[str, Any]) -> float | None:
    """result.score as 0-100: ``scaled`` x 100 (a negative scaled counts as 0), else
    ``raw`` within ``min``..``max``; None without a usable score (``raw`` alone has no
    scale). Out of range is refused."""
    score = result.get("score")
    if not isinstance(score, dict):
        return None
    scaled = _number(score.get("scaled"), "result.score.scaled")
    if scaled is not None:
        if not -1 <= scaled <= 1:
            raise StatementRefused("result.score.scaled", f"{scaled} is outside -1..1")
        return round(max(scaled, 0.0) * 100, 4)
    raw = _number(score.get("raw"), "result.score.raw")
    low = _number(score.get("min"), "result.score.min")
    high = _number(score.get("max"), "result.score.max")
    if raw is None or low is None or high is None:
        return None
    if not low < high:
        raise StatementRefused("result.score.max", f"max {high} is not above min {low}")
    if not low <= raw <= high:
        raise StatementRefused("result.score.raw", f"{raw} is outside min..max ({low}..{high})")
    return round((raw - low) / (high - low) * 100, 4)


def _activity_type(statement: dict[str, Any]) -> str | None:
    definition = (statement.get("object") or {}).get("definition") or {}
    kind = definition.get("type")
    return kind if isinstance(kind, str) else None


def _fields(rule: Rule, statement: dict[str, Any], score: float | None) -> dict[str, Any] | None:
    """The event's own fields, or None when the statement lacks what the event needs."""
    object_ref = ref(str(statement["object"]["id"]))
    result = statement.get("result") or {}
    if rule.event == "exercise.quiz_graded":
        return None if score is None else {"quiz_id": object_ref, "score": score}
    if rule.event == "exercise.submitted":
        success = result.get("success", rule.success)
        if success is None and score is None:
            return None
        if success is None:  # a score alone: passed at half marks or better
            success = score is not None and score >= 50
        if score is None:  # right or wrong and nothing more: all or nothing
            score = 100.0 if success else 0.0
        return {"exercise_id": object_ref, "passed": bool(success), "score": score}
    if rule.event == "exercise.started":
        return {"exercise_id": object_ref}
    if rule.event == "learning.message":
        text = result.get("response")
        return {"text": text[:TEXT_MAX]} if isinstance(text, str) and text else None
    return {"lesson_id": object_ref}  # learning.lesson_started / lesson_completed


def _occurred_at(timestamp: object, stored: datetime) -> str:
    """The statement's timestamp with an offset (xAPI lets a producer leave the zone
    out; such a time is taken as UTC), else the time the service received it."""
    if not isinstance(timestamp, str):
        return stored.isoformat()
    try:
        moment = datetime.fromisoformat(timestamp)
    except ValueError:
        return timestamp  # the event's own check names it
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def map_statement(
    statement: dict[str, Any], mapping: Mapping, stored: datetime
) -> Mapped | Ignored:
    """One statement (with its ``id``) -> the event it becomes, or why it is ignored.
    Raises StatementRefused for a statement that matches a rule but cannot be used."""
    verb = (statement.get("verb") or {}).get("id")
    obj = statement.get("object") or {}
    if obj.get("objectType", "Activity") != "Activity":
        return Ignored(f"object is a {obj.get('objectType')}, not an Activity")
    actor = statement.get("actor") or {}
    if actor.get("objectType") == "Group":
        return Ignored("actor is a Group: progress is followed per student")
    activity_type = _activity_type(statement)
    candidates = [
        r
        for r in mapping.rules
        if verb in r.verbs and (not r.activity_types or activity_type in r.activity_types)
    ]
    if not candidates:
        return Ignored(f"no rule for verb {verb} on activity type {activity_type}")
    student_id = student_of(actor, mapping)
    score = score_of(statement.get("result") or {})
    for rule in candidates:
        fields = _fields(rule, statement, score)
        if fields is None:
            continue
        topic_id = topic_of(statement, mapping)
        if topic_id is None and rule.event != "learning.message":
            return Ignored(f"no topic for activity {obj.get('id')} (docs/xapi.md, Topics)")
        data: dict[str, Any] = {
            "event_id": str(statement["id"]),
            "student_id": student_id,
            "occurred_at": _occurred_at(statement.get("timestamp"), stored),
            **({"topic_id": topic_id} if topic_id is not None else {}),
            **fields,
        }
        return Mapped(rule.event, data)
    needs = sorted({_NEEDS.get(r.event, "an activity") for r in candidates})
    return Ignored(f"verb {verb} matched, but result has no {' / '.join(needs)}")
