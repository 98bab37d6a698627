"""What a teacher's digest says, composed from facts read beforehand (no I/O), and its
three renderings: plain text and HTML for email, Slack-compatible JSON for a webhook.

Per class the teacher teaches: who needs attention and why (alerts new in the period,
alerts still unresolved from before it, wheel-spinning named as such, students inactive
at the period's end or never active), the biggest drops and gains of overall mastery over
the period, and the class's misconceptions. Students are named by id only: the service
holds no names (docs/digests.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from jinja2 import Environment

from service.frontend.digests.periods import Period

UNRESOLVED = ("open", "acknowledged")
MIN_CHANGE = 1.0  # points of overall mastery (0-100) a change must reach to be listed
TOP_CHANGES = 5  # drops and gains listed per class
SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2}
KIND_WORDS = {
    "repeated_error": "the same error again and again",
    "failed_executions": "failed runs in a row",
    "stuck": "stuck on an exercise",
    "low_quiz": "a low quiz score",
    "help_request": "asked for help",
    "inactivity": "inactive",
    "wheel_spinning": "wheel-spinning: many attempts without reaching mastery",
    "class_misconception": "a class-wide misconception",
}


@dataclass(frozen=True)
class AlertFact:
    alert_id: str
    kind: str
    severity: str
    topic_id: str | None
    detected_at: datetime
    status: str
    student_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StudentFact:
    student_id: str
    overall_mastery: float | None  # now (the read model's summary)
    overall_at_start: float | None  # the newest daily point before the period (or its first)
    last_activity: datetime | None


@dataclass(frozen=True)
class ClassFacts:
    class_id: str
    title: str
    students: list[StudentFact]
    alerts: list[AlertFact]  # the students' alerts: new in the period or unresolved
    misconceptions: list[AlertFact]  # the class's class_misconception alerts, likewise


@dataclass(frozen=True)
class DigestInput:
    teacher_id: str
    period: Period
    classes: list[ClassFacts]
    generated_at: datetime
    inactive_after: timedelta
    public_url: str
    unsubscribe_url: str | None = None


def _link(base: str, path: str) -> str:
    return base + path


def _seg(value: str) -> str:
    return quote(value, safe="")


def _in_period(at: datetime, period: Period) -> bool:
    return period.start <= at < period.end


def _alert_reason(alert: AlertFact, period: Period) -> dict[str, Any] | None:
    """An alert as a reason: new in the period, or still unresolved from before it;
    alerts raised after the period wait for the next digest."""
    if alert.detected_at >= period.end:
        return None
    new = _in_period(alert.detected_at, period)
    if not new and alert.status not in UNRESOLVED:
        return None
    if alert.kind == "wheel_spinning":
        code = "wheel_spinning"
    else:
        code = "new_alert" if new else "open_alert"
    where = f" in {alert.topic_id}" if alert.topic_id else ""
    words = KIND_WORDS.get(alert.kind, alert.kind)
    if code == "wheel_spinning":
        text = f"wheel-spinning{where}: many attempts without reaching mastery"
        text += "" if new else " (still open)"
    elif new:
        text = f"new {alert.severity} alert: {words}{where}"
    else:
        text = f"{alert.severity} alert still {alert.status}: {words}{where}"
    return {
        "code": code,
        "text": text,
        "alert_id": alert.alert_id,
        "kind": alert.kind,
        "severity": alert.severity,
        "topic_id": alert.topic_id,
        "status": alert.status,
        "new": new,
        "detected_at": alert.detected_at.isoformat(),
    }


def _activity_reason(
    student: StudentFact, period: Period, inactive_after: timedelta
) -> dict[str, Any] | None:
    if student.last_activity is None:
        return {"code": "never_active", "text": "no activity yet"}
    idle = period.end - student.last_activity
    if idle >= inactive_after:
        days = idle.days
        return {"code": "inactive", "days": days, "text": f"no activity for {days} days"}
    return None


def _student_rank(entry: dict[str, Any]) -> tuple[int, int, int, str]:
    severities = [
        SEVERITY_RANK.get(r.get("severity", "low"), 3) for r in entry["reasons"] if "severity" in r
    ]
    highs = sum(1 for s in severities if s == 0)
    mediums = sum(1 for s in severities if s == 1)
    return (-highs, -mediums, -len(entry["reasons"]), entry["student_id"])


def _class_block(facts: ClassFacts, data: DigestInput) -> dict[str, Any]:
    base = data.public_url
    period = data.period
    by_student: dict[str, list[dict[str, Any]]] = {}
    alerted_inactive: set[str] = set()
    for alert in sorted(facts.alerts, key=lambda a: (a.detected_at, a.alert_id)):
        if alert.student_id is None:
            continue
        reason = _alert_reason(alert, period)
        if reason is None:
            continue
        if alert.kind == "inactivity":
            alerted_inactive.add(alert.student_id)
        by_student.setdefault(alert.student_id, []).append(reason)
    for student in facts.students:
        if student.student_id in alerted_inactive:
            continue  # the inactivity alert says it already
        reason = _activity_reason(student, period, data.inactive_after)
        if reason is not None:
            by_student.setdefault(student.student_id, []).append(reason)
    attention = [
        {
            "student_id": sid,
            "reasons": reasons,
            "console_url": _link(base, f"/console/students/{_seg(sid)}"),
            "api_url": _link(base, f"/progress/{_seg(sid)}"),
        }
        for sid, reasons in by_student.items()
    ]
    attention.sort(key=_student_rank)
    changes: list[dict[str, Any]] = [
        {
            "student_id": s.student_id,
            "from": round(s.overall_at_start, 1),
            "to": round(s.overall_mastery, 1),
            "change": round(s.overall_mastery - s.overall_at_start, 1),
            "console_url": _link(base, f"/console/students/{_seg(s.student_id)}"),
        }
        for s in facts.students
        if s.overall_mastery is not None and s.overall_at_start is not None
    ]
    drops = sorted(
        (c for c in changes if c["change"] <= -MIN_CHANGE),
        key=lambda c: (c["change"], c["student_id"]),
    )[:TOP_CHANGES]
    gains = sorted(
        (c for c in changes if c["change"] >= MIN_CHANGE),
        key=lambda c: (-c["change"], c["student_id"]),
    )[:TOP_CHANGES]
    misconceptions = []
    for alert in sorted(facts.misconceptions, key=lambda a: (a.detected_at, a.alert_id)):
        reason = _alert_reason(alert, period)
        if reason is None:
            continue
        students = alert.details.get("students") or []
        error_type = alert.details.get("error_type")
        misconceptions.append(
            {
                "alert_id": alert.alert_id,
                "topic_id": alert.topic_id,
                "error_type": error_type,
                "students": len(students),
                "share": alert.details.get("share"),
                "status": alert.status,
                "new": reason["new"],
                "detected_at": alert.detected_at.isoformat(),
                "text": f"{len(students)} students hit {error_type} in {alert.topic_id}"
                + ("" if reason["new"] else f" (still {alert.status})"),
            }
        )
    cid = _seg(facts.class_id)
    return {
        "class_id": facts.class_id,
        "title": facts.title,
        "students": len(facts.students),
        "console_url": _link(base, f"/console/classes/{cid}"),
        "api_url": _link(base, f"/classes/{cid}/students?sort=risk"),
        "needs_attention": attention,
        "drops": drops,
        "gains": gains,
        "misconceptions": misconceptions,
    }


def compose(data: DigestInput) -> dict[str, Any]:
    """The digest as a document (what the preview route returns and the renderers read).
    ``empty``: nothing to tell in any class; such a digest is not sent."""
    classes = [_class_block(c, data) for c in sorted(data.classes, key=lambda c: c.class_id)]
    attention = sum(len(c["needs_attention"]) for c in classes)
    empty = not any(
        c["needs_attention"] or c["drops"] or c["gains"] or c["misconceptions"] for c in classes
    )
    period = data.period
    return {
        "teacher_id": data.teacher_id,
        "period": {
            "kind": period.kind,
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
            "first_day": period.first_day.isoformat(),
            "last_day": period.last_day.isoformat(),
            "time_zone": period.time_zone,
        },
        "generated_at": data.generated_at.isoformat(),
        "empty": empty,
        "students_needing_attention": attention,
        "classes": classes,
        "unsubscribe_url": data.unsubscribe_url,
    }


def subject(doc: dict[str, Any]) -> str:
    period = doc["period"]
    span = (
        period["first_day"]
        if period["first_day"] == period["last_day"]
        else f"{period['first_day']} to {period['last_day']}"
    )
    kind = "Daily" if period["kind"] == "day" else "Weekly"
    n = doc["students_needing_attention"]
    who = f"{n} student{'s' if n != 1 else ''} need{'s' if n == 1 else ''} attention"
    return f"{kind} progress digest, {span}: {who}"


def _change_line(c: dict[str, Any]) -> str:
    return f"{c['student_id']}: {c['from']:g} -> {c['to']:g} ({c['change']:+g})"


def render_text(doc: dict[str, Any]) -> str:
    lines = [subject(doc), ""]
    for c in doc["classes"]:
        lines.append(f"== {c['title']} ({c['class_id']}), {c['students']} students")
        lines.append(f"   {c['console_url']}")
        if c["needs_attention"]:
            lines.append("Needs attention:")
            for s in c["needs_attention"]:
                lines.append(
                    f"  - {s['student_id']}: " + "; ".join(r["text"] for r in s["reasons"])
                )
                lines.append(f"    {s['console_url']}")
        if c["drops"]:
            lines.append("Biggest drops of mastery:")
            lines.extend(f"  - {_change_line(x)}" for x in c["drops"])
        if c["gains"]:
            lines.append("Biggest gains of mastery:")
            lines.extend(f"  - {_change_line(x)}" for x in c["gains"])
        if c["misconceptions"]:
            lines.append("Class misconceptions:")
            lines.extend(f"  - {m['text']}" for m in c["misconceptions"])
        if not (c["needs_attention"] or c["drops"] or c["gains"] or c["misconceptions"]):
            lines.append("Nothing to report.")
        lines.append("")
    if doc["unsubscribe_url"]:
        lines.append(f"Stop these digests: {doc['unsubscribe_url']}")
    return "\n".join(lines) + "\n"


_HTML = Environment(autoescape=True).from_string(
    """<!doctype html>
<html><head><meta charset="utf-8"><title>{{ subject }}</title></head>
<body style="font-family: sans-serif">
<h1 style="font-size: 1.3em">{{ subject }}</h1>
{% for c in doc.classes %}
<h2 style="font-size: 1.1em"><a href="{{ c.console_url }}">{{ c.title }}</a>
 <small>({{ c.class_id }}, {{ c.students }} students)</small></h2>
{% if c.needs_attention %}<h3>Needs attention</h3><ul>
{% for s in c.needs_attention %}<li><a href="{{ s.console_url }}">{{ s.student_id }}</a>:
 {% for r in s.reasons %}{{ r.text }}{% if not loop.last %}; {% endif %}{% endfor %}</li>
{% endfor %}</ul>{% endif %}
{% if c.drops %}<h3>Biggest drops of mastery</h3><ul>
{% for x in c.drops %}<li>{{ x.student_id }}: {{ x["from"] }} &rarr; {{ x.to }}
 ({{ x.change }})</li>
{% endfor %}</ul>{% endif %}
{% if c.gains %}<h3>Biggest gains of mastery</h3><ul>
{% for x in c.gains %}<li>{{ x.student_id }}: {{ x["from"] }} &rarr; {{ x.to }}
 (+{{ x.change }})</li>
{% endfor %}</ul>{% endif %}
{% if c.misconceptions %}<h3>Class misconceptions</h3><ul>
{% for m in c.misconceptions %}<li>{{ m.text }}</li>{% endfor %}</ul>{% endif %}
{% if not (c.needs_attention or c.drops or c.gains or c.misconceptions) %}
<p>Nothing to report.</p>{% endif %}
{% endfor %}
{% if doc.unsubscribe_url %}<p style="font-size: 0.85em">
<a href="{{ doc.unsubscribe_url }}">Stop these digests</a></p>{% endif %}
</body></html>
"""
)


def render_html(doc: dict[str, Any]) -> str:
    return _HTML.render(doc=doc, subject=subject(doc))


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_slack(doc: dict[str, Any]) -> dict[str, Any]:
    """A Slack-compatible message: ``text`` (the fallback and what plain webhooks show)
    and ``blocks``; the same document under ``digest`` for receivers that read JSON."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": subject(doc)[:150]}}
    ]
    for c in doc["classes"]:
        lines = [f"*<{c['console_url']}|{_slack_escape(c['title'])}>* ({c['students']} students)"]
        for s in c["needs_attention"]:
            why = "; ".join(r["text"] for r in s["reasons"])
            lines.append(f"• <{s['console_url']}|{s['student_id']}>: {_slack_escape(why)}")
        if c["drops"]:
            lines.append("Drops: " + ", ".join(_slack_escape(_change_line(x)) for x in c["drops"]))
        if c["gains"]:
            lines.append("Gains: " + ", ".join(_slack_escape(_change_line(x)) for x in c["gains"]))
        for m in c["misconceptions"]:
            lines.append(f"Misconception: {_slack_escape(m['text'])}")
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:3000]}}
        )
    if doc["unsubscribe_url"]:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": f"<{doc['unsubscribe_url']}|Stop these digests>"}
                ],
            }
        )
    return {"text": render_text(doc), "blocks": blocks, "digest": doc}
