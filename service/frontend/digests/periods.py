"""When a teacher's digest is due and which period it covers: pure functions of the
teacher's schedule and the time now (docs/digests.md, "When").

A digest is sent on a *send day* (not a quiet day; for a weekly digest, its weekday) at
the teacher's local send hour, and covers whole local days: from midnight of the
previous send day (daily) or of the day a week before (weekly) to midnight of the send
day. So a daily digest with quiet weekends sent on Monday covers Friday to Sunday, and
nothing falls between two digests. Times are the teacher's IANA time zone; a local time
that does not exist (a DST gap) is read with the offset before the change, i.e. the
instant after the gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Frequency = Literal["daily", "weekly"]
PeriodKind = Literal["day", "week"]
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
LOOK_BACK_DAYS = 8  # a send day is at most 7 days back when any weekday is a send day


class UnknownTimeZone(ValueError):
    pass


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; :class:`UnknownTimeZone` for anything else."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UnknownTimeZone(f"{name!r} is not an IANA time zone (e.g. Europe/Paris)") from exc


@dataclass(frozen=True)
class Schedule:
    frequency: Frequency
    time_zone: str
    send_hour: int  # 0-23, local
    weekday: int | None = None  # 0 = Monday; weekly only
    quiet_days: frozenset[int] = frozenset()  # 0 = Monday

    def is_send_day(self, day: date) -> bool:
        if day.weekday() in self.quiet_days:
            return False
        return self.frequency == "daily" or day.weekday() == self.weekday


@dataclass(frozen=True)
class Period:
    kind: PeriodKind
    start: datetime  # UTC: local midnight of the first day
    end: datetime  # UTC: local midnight after the last day
    first_day: date  # local, inclusive
    last_day: date  # local, inclusive
    time_zone: str


def local_instant(day: date, hour: int, tz: ZoneInfo) -> datetime:
    """``day`` at ``hour`` o'clock in ``tz``, as a UTC instant (a time in a DST gap is
    read with the offset before the change: the instant after the gap)."""
    return datetime.combine(day, time(hour), tzinfo=tz).astimezone(UTC)


def days_period(kind: PeriodKind, first: date, end_day: date, time_zone: str) -> Period:
    """The local days ``first`` .. ``end_day - 1``."""
    tz = zone(time_zone)
    return Period(
        kind=kind,
        start=local_instant(first, 0, tz),
        end=local_instant(end_day, 0, tz),
        first_day=first,
        last_day=end_day - timedelta(days=1),
        time_zone=time_zone,
    )


def period_sent_on(schedule: Schedule, send_day: date) -> Period:
    """The period the digest sent on ``send_day`` covers."""
    if schedule.frequency == "weekly":
        return days_period("week", send_day - timedelta(days=7), send_day, schedule.time_zone)
    first = send_day - timedelta(days=1)
    for back in range(1, LOOK_BACK_DAYS):
        candidate = send_day - timedelta(days=back)
        if schedule.is_send_day(candidate):
            first = candidate
            break
    return days_period("day", first, send_day, schedule.time_zone)


def latest_due(schedule: Schedule, now: datetime) -> Period | None:
    """The period of the newest send time at or before ``now`` (None if no day is a send
    day). Only the newest: after an outage one digest goes, not a backlog."""
    tz = zone(schedule.time_zone)
    today = now.astimezone(tz).date()
    for back in range(LOOK_BACK_DAYS):
        day = today - timedelta(days=back)
        if schedule.is_send_day(day) and local_instant(day, schedule.send_hour, tz) <= now:
            return period_sent_on(schedule, day)
    return None


def preview_period(kind: PeriodKind, time_zone: str, now: datetime) -> Period:
    """For GET /teachers/{id}/digest: the whole local day (or 7 days) before today."""
    today = now.astimezone(zone(time_zone)).date()
    days = 1 if kind == "day" else 7
    return days_period(kind, today - timedelta(days=days), today, time_zone)
