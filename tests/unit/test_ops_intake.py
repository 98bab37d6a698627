"""GET /ops/intake's arithmetic and reading of dead letters, the Kafka client's options,
the route's answers without brokers or with brokers that do not answer, and the
operators' page's formatting and sections (issue 22)."""

from __future__ import annotations

import asyncio
import json
import re
import ssl
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from prometheus_client import CollectorRegistry, Gauge

from service.auth import Principal
from service.frontend.console import pages_ops
from service.frontend.console.rendering import TEMPLATES
from service.frontend.kafka_reader import KafkaUnavailable, client_options, read_intake, ssl_context
from service.frontend.routes import ops
from service.metrics import EVENTS
from service.ops_intake import (
    PartitionOffsets,
    RawRecord,
    broker_list,
    dead_letter,
    event_counts,
    lag,
    newest,
    sum_known,
    topic_row,
)
from service.settings import Settings

ADMIN = Principal(subject="ops-admin", role="admin")
NOW = datetime(2026, 12, 10, 9, 41, 2, tzinfo=UTC)


# --- lag arithmetic -------------------------------------------------------------------


def test_lag_is_the_log_end_minus_the_committed_offset() -> None:
    assert lag(committed=40, log_end=52) == 12
    assert lag(committed=52, log_end=52) == 0
    assert lag(committed=None, log_end=52) is None  # the group never committed here
    # a commit past the end (the topic was recreated): nothing to read, not negative
    assert lag(committed=60, log_end=52) == 0


def test_a_topic_sums_its_partitions() -> None:
    offsets = [
        PartitionOffsets("exercise.events", 1, log_start=0, log_end=30, committed=30),
        PartitionOffsets("exercise.events", 0, log_start=5, log_end=20, committed=17),
        PartitionOffsets("exercise.events", 2, log_start=0, log_end=8, committed=None),
        PartitionOffsets("code.events", 0, log_start=0, log_end=99, committed=1),
    ]
    row = topic_row("exercise.events", "inbound", offsets)
    assert row["exists"] is True
    assert [p["partition"] for p in row["partitions"]] == [0, 1, 2]
    assert [p["lag"] for p in row["partitions"]] == [3, 0, None]
    assert row["lag"] == 3  # partitions without a commit are not guessed
    assert row["records"] == 15 + 30 + 8  # what is on the partitions now
    assert row["partitions"][0] == {
        "partition": 0,
        "committed_offset": 17,
        "log_start_offset": 5,
        "log_end_offset": 20,
        "lag": 3,
    }


def test_a_topic_nobody_consumes_has_records_and_no_lag() -> None:
    offsets = [PartitionOffsets("progress.deadletter", p, 0, 2 * p, None) for p in range(3)]
    row = topic_row("progress.deadletter", "dead_letter", offsets)
    assert (row["records"], row["lag"], row["exists"]) == (6, None, True)


def test_a_topic_the_brokers_do_not_know() -> None:
    row = topic_row("learning.events", "inbound", [])
    assert row == {
        "topic": "learning.events",
        "role": "inbound",
        "exists": False,
        "records": 0,
        "lag": None,
        "partitions": [],
    }


def test_sum_known() -> None:
    assert sum_known([1, None, 4]) == 5
    assert sum_known([None, None]) is None
    assert sum_known([0]) == 0


def test_broker_list() -> None:
    assert broker_list(" b-1:9092, ,b-2:9092 ") == ["b-1:9092", "b-2:9092"]
    assert broker_list("") == []


# --- dead letters -----------------------------------------------------------------------


def service_record(
    reason: str, key: bytes | None, offset: int = 7, at: str = "2026-12-10T09:40:00+00:00"
) -> RawRecord:
    original = {
        "id": "e-9",
        "type": "exercise.submitted",
        "data": {"student_id": "s-from-data", "score": 250},
    }
    cloud_event = {
        "type": "com.dapr.event.sent",
        "source": "progress-service",
        "data": {
            "reason": reason,
            "source_topic": "exercise.events",
            "dead_lettered_at": at,
            "original": original,
        },
    }
    return RawRecord(2, offset, 1_765_000_000_000, key, json.dumps(cloud_event).encode(), [])


def test_the_services_record_gives_its_reason() -> None:
    letter = dead_letter(service_record("score: Input should be <= 100", b"s-17"))
    assert letter == {
        "partition": 2,
        "offset": 7,
        "written_by": "service",
        "reason": "score: Input should be <= 100",
        "source_topic": "exercise.events",
        "student_id": "s-17",
        "event_type": "exercise.submitted",
        "event_id": "e-9",
        "at": datetime(2026, 12, 10, 9, 40, tzinfo=UTC),
    }


def test_without_a_key_the_student_is_read_from_the_event() -> None:
    letter = dead_letter(service_record("unknown type", b""))
    assert letter["student_id"] == "s-from-data"


def test_a_service_record_without_a_readable_time_takes_the_records() -> None:
    letter = dead_letter(service_record("x", b"s", at="yesterday"))
    assert letter["at"] == datetime.fromtimestamp(1_765_000_000, UTC)


def test_daprds_record_is_the_message_as_it_was() -> None:
    event = {"id": "e-3", "type": "code.reviewed", "data": {"student_id": "s-3"}}
    record = RawRecord(
        0,
        41,
        1_765_000_123_456,
        b"s-3",
        json.dumps(event).encode(),
        [("__topic", b"code.events"), ("__partition", b"4")],
    )
    assert dead_letter(record) == {
        "partition": 0,
        "offset": 41,
        "written_by": "daprd",
        "reason": None,
        "source_topic": "code.events",
        "student_id": "s-3",
        "event_type": "code.reviewed",
        "event_id": "e-3",
        "at": datetime.fromtimestamp(1_765_000_123.456, UTC),
    }


def test_a_message_that_is_not_json() -> None:
    record = RawRecord(1, 3, None, None, b"not json \xff", [("__topic", b"learning.events")])
    letter = dead_letter(record)
    assert (letter["written_by"], letter["reason"], letter["source_topic"]) == (
        "daprd",
        None,
        "learning.events",
    )
    assert (letter["student_id"], letter["event_type"], letter["at"]) == (None, None, None)


def test_newest_first_and_at_most_count() -> None:
    base = datetime(2026, 12, 1, tzinfo=UTC)
    letters = [
        {"at": base + timedelta(minutes=m), "offset": o}
        for m, o in ((5, 1), (1, 2), (9, 3), (5, 4))
    ]
    letters.append({"at": None, "offset": 99})
    assert [d["offset"] for d in newest(letters, 3)] == [3, 4, 1]
    assert [d["offset"] for d in newest(letters, 10)] == [3, 4, 1, 2, 99]
    assert newest(letters, 0) == []


# --- this replica's counts --------------------------------------------------------------


def test_event_counts_follow_the_metric() -> None:
    before = event_counts()
    EVENTS.labels(type="quiz.answered", outcome="applied").inc(3)
    EVENTS.labels(type="quiz.answered", outcome="duplicate").inc()
    EVENTS.labels(type="invalid", outcome="poison").inc(2)
    EVENTS.labels(type="exercise.submitted", outcome="retried").inc()
    after = event_counts()
    assert after["processed"] - before["processed"] == 4
    assert after["dead_lettered"] - before["dead_lettered"] == 2
    assert after["retried"] - before["retried"] == 1
    rows = {(r["type"], r["outcome"]): r["count"] for r in after["events"]}
    assert rows[("invalid", "poison")] >= 2
    assert after["events"] == sorted(after["events"], key=lambda r: (r["type"], r["outcome"]))


def test_started_at_is_the_process_start_time() -> None:
    registry = CollectorRegistry()
    Gauge("process_start_time_seconds", "start", registry=registry).set(1_765_000_000)
    assert event_counts(registry)["started_at"] == datetime.fromtimestamp(1_765_000_000, UTC)
    assert event_counts(CollectorRegistry())["started_at"] is None


# --- the Kafka client's options ---------------------------------------------------------


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "progress-test")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "client.crt", tmp_path / "client.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def test_plaintext_has_no_tls_and_no_sasl() -> None:
    options = client_options(Settings(kafka_brokers="a:1,b:2"))
    assert options["bootstrap_servers"] == ["a:1", "b:2"]
    assert options["security_protocol"] == "PLAINTEXT"
    assert options["ssl_context"] is None
    assert options["request_timeout_ms"] == 2000
    assert "sasl_mechanism" not in options


def test_sasl_over_tls_passes_the_user() -> None:
    settings = Settings(
        kafka_brokers="a:1",
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-256",
        kafka_sasl_username="progress",
        kafka_sasl_password="s3cret",
    )
    options = client_options(settings)
    assert options["sasl_mechanism"] == "SCRAM-SHA-256"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == (
        "progress",
        "s3cret",
    )
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_sasl_without_tls() -> None:
    options = client_options(
        Settings(kafka_brokers="a:1", kafka_security_protocol="SASL_PLAINTEXT")
    )
    assert options["ssl_context"] is None
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"


def test_mtls_loads_the_ca_and_the_client_certificate(tmp_path: Path) -> None:
    cert_file, key_file = self_signed(tmp_path)
    settings = Settings(
        kafka_brokers="a:1",
        kafka_security_protocol="SSL",
        kafka_ca_file=cert_file,
        kafka_cert_file=cert_file,
        kafka_key_file=key_file,
    )
    context = ssl_context(settings)
    assert context is not None
    # the CA file is the one trusted (not the system's), and the client pair loaded
    assert context.cert_store_stats()["x509_ca"] == 1


def test_skip_verify() -> None:
    context = ssl_context(Settings(kafka_security_protocol="SSL", kafka_tls_skip_verify=True))
    assert context is not None
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_NONE, False)


# --- the route without brokers, and with brokers that do not answer ---------------------


class NoSidecar:
    async def metadata(self, timeout: float = 5.0) -> dict[str, Any]:
        raise AssertionError("the consumer group is configured: daprd is not asked")


class AppIdSidecar:
    async def metadata(self, timeout: float = 5.0) -> dict[str, Any]:
        return {"id": "progress-from-daprd"}


async def test_not_configured_is_200_with_the_replicas_counts() -> None:
    report = await ops.intake(ADMIN, Settings(), NoSidecar(), 10)  # type: ignore[arg-type]
    assert report["configured"] is False
    assert report["reachable"] is None
    assert "PROGRESS_KAFKA_BROKERS" in report["error"]
    assert report["topics"] == [] and report["dead_letters"] is None
    assert "processed" in report["replica"]


async def test_the_group_is_the_app_id_unless_set() -> None:
    assert await ops.consumer_group(Settings(), AppIdSidecar()) == "progress-from-daprd"  # type: ignore[arg-type]
    settings = Settings(kafka_consumer_group="mine")
    assert await ops.consumer_group(settings, NoSidecar()) == "mine"  # type: ignore[arg-type]


async def test_refused_connections_are_reported() -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()  # nothing listens on the port any more
    settings = Settings(kafka_brokers=f"127.0.0.1:{port}", kafka_consumer_group="g")
    report = await ops.intake(ADMIN, settings, NoSidecar(), 10)  # type: ignore[arg-type]
    assert (report["configured"], report["reachable"]) == (True, False)
    assert report["error"].startswith("the brokers refused")
    assert report["topics"] == []


@pytest.fixture
async def silent_broker() -> AsyncIterator[int]:
    """A port that accepts connections and never answers a request."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()


async def test_brokers_that_do_not_answer_in_time(silent_broker: int) -> None:
    settings = Settings(
        kafka_brokers=f"127.0.0.1:{silent_broker}", kafka_consumer_group="g", kafka_timeout_s=0.5
    )
    with pytest.raises(KafkaUnavailable, match=r"did not answer within 0\.5 s"):
        await read_intake(settings, "g", ["learning.events"], "progress.deadletter", 5)
    report = await ops.intake(ADMIN, settings, NoSidecar(), 10)  # type: ignore[arg-type]
    assert (report["reachable"], report["error"]) == (
        False,
        "the brokers did not answer within 0.5 s",
    )


# --- the page: formatting ---------------------------------------------------------------


def test_plural() -> None:
    assert pages_ops.plural(1, "event") == "1 event"
    assert pages_ops.plural(1234, "event") == "1,234 events"
    assert pages_ops.plural(0, "delivery", "deliveries") == "0 deliveries"
    assert pages_ops.plural(None, "event") == "\u2014"


def test_ago() -> None:
    assert pages_ops.ago(NOW, NOW) == "just now"
    assert pages_ops.ago(NOW - timedelta(seconds=5), NOW) == "5 s ago"
    assert pages_ops.ago(NOW - timedelta(minutes=3, seconds=59), NOW) == "3 min ago"
    assert pages_ops.ago(NOW - timedelta(hours=2, minutes=1), NOW) == "2 h ago"
    assert pages_ops.ago(NOW - timedelta(days=1, hours=5), NOW) == "1 day ago"
    assert pages_ops.ago(NOW - timedelta(days=40), NOW) == "40 days ago"
    assert pages_ops.ago(NOW + timedelta(minutes=2), NOW) == "in 2 min"
    assert pages_ops.ago(None, NOW) == "\u2014"


def test_timestamp_and_times_from_the_api() -> None:
    assert pages_ops.timestamp(NOW) == "2026-12-10 09:41:02 UTC"
    assert pages_ops.timestamp(None) == "\u2014"
    assert pages_ops.parse_time("2026-12-10T09:41:02Z") == NOW
    assert pages_ops.parse_time(NOW) == NOW
    assert pages_ops.parse_time("soon") is None
    assert pages_ops.parse_time(None) is None


def test_lag_text() -> None:
    assert pages_ops.lag_text(None) == "no commit"
    assert pages_ops.lag_text(1) == "1 record"
    assert pages_ops.lag_text(12_345) == "12,345 records"


# --- the page: its sections whatever Kafka does ------------------------------------------

REPLICA = {"started_at": NOW, "processed": 1500, "dead_lettered": 2, "retried": 0, "events": []}
ACTORS = {
    "app_id": "progress-service",
    "runtime_version": "1.18.2",
    "actor_types": [{"type": "StudentProgressActor", "active_count": 42}],
    "placement_hosts": [
        {
            "namespace": "progress-service",
            "address": "127.0.0.1:50011",
            "app_id": "progress-service",
            "actor_types": ["StudentProgressActor"],
        }
    ],
}


def page(intake: dict[str, Any] | None, intake_error: str | None = None) -> str:
    user = SimpleNamespace(principal=ADMIN, via="bearer", is_admin=True)
    return TEMPLATES.get_template("ops.html").render(
        title="Operators",
        user=user,
        csrf_token=None,
        actors=pages_ops.Section(ACTORS),
        intake=pages_ops.Section(intake, intake_error),
        open_alerts=pages_ops.Section({"stuck": 3, "inactivity": 0}),
        reminders=pages_ops.Section(None),
        student_id=None,
        now=NOW,
        plural=pages_ops.plural,
        ago=pages_ops.ago,
        timestamp=pages_ops.timestamp,
        parse_time=pages_ops.parse_time,
        lag_text=pages_ops.lag_text,
        dead_letters_shown=10,
        timeout_s=2.0,
    )


SECTIONS = ("actors", "placement", "consumer-lag", "dead-letters", "reminders")


def kafka_report(**changes: Any) -> dict[str, Any]:
    report: dict[str, Any] = {
        "configured": True,
        "brokers": ["b-1:9092"],
        "consumer_group": "progress-service",
        "reachable": True,
        "error": None,
        "topics": [],
        "dead_letters": {"topic": "progress.deadletter", "total": 0, "latest": []},
        "replica": REPLICA,
    }
    return {**report, **changes}


def test_not_configured_says_how_to_configure_it() -> None:
    html = page(kafka_report(configured=False, reachable=None, dead_letters=None))
    for testid in SECTIONS:
        assert f'data-testid="{testid}"' in html
    assert 'data-testid="kafka-not-configured"' in html
    assert "PROGRESS_KAFKA_BROKERS" in html and "kafka.brokers" in html
    assert "42 actors" in html and "127.0.0.1:50011" in html  # the rest still shows
    assert "1,500 events" in html and "3 alerts" in html


def test_unreachable_brokers_leave_the_other_sections() -> None:
    error = "the brokers did not answer within 2 s"
    html = page(kafka_report(reachable=False, error=error, dead_letters=None))
    assert 'data-testid="kafka-unreachable"' in html
    assert error in html
    assert "42 actors" in html and "StudentProgressActor" in html
    for testid in SECTIONS:
        assert f'data-testid="{testid}"' in html


def test_a_failed_section_says_why() -> None:
    html = page(None, "placement metadata unavailable: no URL")
    assert "Not available: placement metadata unavailable: no URL" in html
    assert "42 actors" in html


def test_lag_and_dead_letters_are_tables_with_units() -> None:
    row = topic_row(
        "exercise.events",
        "inbound",
        [PartitionOffsets("exercise.events", 0, 0, 1234, 1200)],
    )
    letter = dead_letter(service_record("score: too high", b"s-17"))
    html = page(
        kafka_report(
            topics=[row],
            dead_letters={"topic": "progress.deadletter", "total": 1, "latest": [letter]},
        )
    )
    assert "34 records" in html  # the lag
    assert re.search(r'data-committed="1200"\s+data-log-end="1234"\s+data-lag="34"', html)
    assert "1,234" in html
    assert 'data-testid="dead-letter"' in html and "score: too high" in html
    assert "1 record</strong>" in html  # the dead-letter topic's total
    assert "{&#39;" not in html and "{'" not in html  # no raw dicts
