"""The one settings object. Every value can be set through a ``PROGRESS_``-prefixed
environment variable (for example ``PROGRESS_DATABASE_URL``), except the three that Dapr
itself defines and daprd and the Dapr SDK read under their own names: ``DAPR_HTTP_PORT``,
``DAPR_API_TOKEN``, ``APP_API_TOKEN``. docs/settings.md lists them all;
service/settings_check.py reports unknown and renamed variables at start-up."""

import re
import tomllib
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from actors.config import DEFAULT_HELP_PHRASES, DomainConfig
from actors.knowledge_tracing import DEFAULT_PARAMETER_SET, ParameterSet

REPO_DIR = Path(__file__).resolve().parent.parent
DEV_JWT_SECRET = "development-only-secret-do-not-deploy"  # noqa: S105
# An origin as a browser sends it: scheme, host, optional port; no path, no slash.
ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")
KafkaProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
KafkaSaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROGRESS_", extra="ignore")

    environment: str = "development"
    # "json", "console" or "auto" (console when stderr is a terminal).
    log_format: str = "auto"
    # "debug" adds a line per event (the intake's and the actor's); "info" logs one line
    # per delivery batch and one per student turn.
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    # daprd sidecar
    dapr_host: str = "127.0.0.1"
    dapr_http_port: int = Field(default=3500, validation_alias="DAPR_HTTP_PORT")
    dapr_api_token: str | None = Field(default=None, validation_alias="DAPR_API_TOKEN")
    pubsub_name: str = "kafka-pubsub"
    statestore_name: str = "actorstate"

    # which part of the service this process is (docs/operations.md, "Roles"): "all"
    # (one process, the default), "api" (the front end) or "actors" (the actor host)
    role: Literal["all", "api", "actors"] = "all"
    # a front end's actor host, by Dapr app id (same namespace): the operators' views ask
    # it for its actors and event counts (service/host_report.py); empty: not asked
    actor_host_app_id: str = ""
    # topics
    learning_topic: str = "learning.events"
    exercise_topic: str = "exercise.events"
    code_topic: str = "code.events"
    progress_topic: str = "progress.updated"
    struggle_topic: str = "struggle.detected"
    deadletter_topic: str = "progress.deadletter"
    # /health publishes a tiny probe here to prove Kafka accepts writes.
    health_topic: str = "progress.health"

    # PostgreSQL (alert table). asyncpg driver.
    database_url: str = "postgresql+asyncpg://progress:progress-dev@127.0.0.1:15432/progress"

    # --- auth -------------------------------------------------------------------
    # HS256 secret, unless a public key (RS256 PEM) or a JWKS file is configured.
    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    jwt_public_key_file: Path | None = None
    jwt_jwks_file: Path | None = None
    jwt_issuer: str = "progress-dev"
    jwt_audience: str = "progress-service"
    jwt_role_claim: str = "role"
    jwt_leeway_s: int = Field(default=30, ge=0, le=300)
    # daprd sends this token (its APP_API_TOKEN) on every call to the app; the Dapr-facing
    # routes refuse calls without it. Unset = not checked (development only).
    app_api_token: SecretStr | None = Field(default=None, validation_alias="APP_API_TOKEN")
    # The base of problem documents' type URIs (docs/api.md, 'Errors'): the kind's name
    # is appended. The default is relative to the API, which serves GET /problems/{kind};
    # behind a gateway that moves the API's path, or to point at your own pages, set an
    # absolute URI such as https://api.example.edu/progress/problems/ (or a page's anchor
    # prefix, https://docs.example.edu/api#problem-).
    problem_type_base: str = Field(
        default="/problems/", pattern=r"^(/|[A-Za-z][A-Za-z0-9+.-]*:)[^\s]*$"
    )
    # Largest request body the HTTP API accepts (413 above it), and the larger one of a
    # OneRoster bundle upload (POST /rosters/oneroster).
    max_request_bytes: int = 256 * 1024
    max_roster_bundle_bytes: int = Field(default=50 * 1024 * 1024, gt=0)
    # Dapr placement's metadata endpoint (placement runs with --metadata-enabled); only
    # the leader answers, so with placement in HA list every pod's, comma-separated.
    placement_metadata_url: str = "http://127.0.0.1:58080/placement/state"
    # SSE: seconds between heartbeat comments on /struggles/stream.
    sse_heartbeat_s: float = Field(default=15.0, gt=0)
    # Stream tickets (POST /struggles/stream/tickets, for an EventSource, which cannot
    # send a header): how long one opens the stream, and the key that signs them. Unset,
    # the key is derived from APP_API_TOKEN (required outside development, the same on
    # every replica), or in development without it from the JWT secret
    # (service/frontend/stream_tickets.py).
    stream_ticket_ttl_s: int = Field(default=60, ge=5, le=600)
    stream_ticket_secret: SecretStr | None = None
    # The console's session cookie (service/frontend/console/session.py): how long a sign-in
    # lasts (never longer than the token it was exchanged for) and the key that signs it;
    # unset, the key is derived from APP_API_TOKEN as the stream tickets' is.
    console_session_ttl_s: int = Field(default=8 * 3600, ge=300, le=7 * 24 * 3600)
    console_session_secret: SecretStr | None = None
    # Origins (scheme://host[:port]) whose pages may call the API from a browser: CORS
    # with credentials, for these origins only. Comma-separated; empty = none.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Per-dependency timeout of GET /health, seconds.
    health_timeout_s: float = 3.0

    # --- Kafka, read by the app itself for GET /ops/intake (consumer lag, dead letters);
    # every event still flows through daprd. The brokers (host:port, comma-separated, the
    # ones daprd's Kafka components use); empty = not configured, /ops/intake says so.
    kafka_brokers: str = ""
    # The consumer group whose lag is shown; empty = the Dapr app id daprd reports (the
    # Kafka components' consumerGroup).
    kafka_consumer_group: str = ""
    # How the app reaches the brokers (the chart derives these from kafka.auth/kafka.tls):
    # PLAINTEXT, SSL (TLS, with a client certificate for mTLS), SASL_PLAINTEXT or SASL_SSL.
    kafka_security_protocol: KafkaProtocol = "PLAINTEXT"
    kafka_sasl_mechanism: KafkaSaslMechanism = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    # PEM files: the CA that signed the brokers' certificates (unset = the system trust
    # store) and, for mTLS, the client's certificate and key.
    kafka_ca_file: Path | None = None
    kafka_cert_file: Path | None = None
    kafka_key_file: Path | None = None
    kafka_tls_skip_verify: bool = False
    # How long /ops/intake waits for the brokers, seconds (then it says they did not answer).
    kafka_timeout_s: float = Field(default=2.0, gt=0, le=30)

    # --- teachers' digests (docs/digests.md) --------------------------------------------
    # Where teachers reach this service and its console: the base of a digest's links
    # (console pages, API routes, the unsubscribe page). No trailing slash.
    public_url: str = Field(default="http://127.0.0.1:8000", pattern=r"^https?://[^\s]+[^/\s]$")
    # The SMTP server digests are sent through; empty host = email digests are not sent
    # (they fail and are retried, visible on GET /ops/digests).
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    # STARTTLS after connecting (port 587); false = plain SMTP (a relay on localhost)
    smtp_starttls: bool = True
    smtp_from: str = "progress-service@localhost"
    # seconds one SMTP session or one webhook POST may take
    digest_send_timeout_s: float = Field(default=30.0, gt=0, le=300)
    # how often each replica looks for digests that are due, seconds
    digest_tick_s: float = Field(default=60.0, gt=0, le=3600)
    # a failed delivery is tried again after base x 2^(attempts-1) seconds (at most 6 h),
    # and given up after this many attempts
    digest_retry_base_s: float = Field(default=60.0, gt=0)
    digest_max_attempts: int = Field(default=6, ge=1, le=50)
    # the key that signs unsubscribe links; unset, derived from APP_API_TOKEN as the
    # stream tickets' is (service/keys.py)
    digest_unsubscribe_secret: SecretStr | None = None

    # A delivery larger than this is a poison event (dead-lettered, not processed).
    max_event_bytes: int = 64 * 1024

    # --- batched intake (docs/performance.md) -----------------------------------------
    # Kafka pub/sub components the intake consumes through, kafka-intake-1..N, all in
    # one consumer group: daprd keeps one bulk batch in flight per component, so N is
    # how many batches this replica processes at once. runtime/render-components.sh and
    # the Helm chart render the same number (PROGRESS_INTAKE_LANES / intake.lanes).
    intake_lanes: int = Field(default=3, ge=1, le=16)
    # Bulk subscribe: at most this many messages per batch, waiting at most this long
    # for a batch to fill.
    bulk_max_messages: int = Field(default=1000, ge=1, le=1000)
    bulk_max_await_ms: int = Field(default=20, ge=1, le=10_000)
    # One actor call carries at most this many bytes of events (daprd caps actor request
    # bodies at 4 MiB); a student's longer run in a batch is split into several calls.
    actor_call_max_bytes: int = Field(default=1024 * 1024, ge=64 * 1024, le=3 * 1024 * 1024)
    # At most this many student turns in flight at once across all lanes: bounds the
    # event loop's queue, so health probes and API requests are answered during a backlog.
    intake_max_turns: int = Field(default=64, ge=1)
    # At most this many connections to daprd for the actor runtime's own calls, publishing
    # and health (calls into actors have their own pool: service/dapr/http_client.py).
    dapr_connection_pool: int = Field(default=128, ge=4)

    # Actor state lives this long after its last write (contract: 30 days).
    actor_state_ttl_s: int = Field(
        default=30 * 24 * 3600, gt=0
    )  # 0 would drop every read-model row hourly
    # How many recent event_ids each student actor remembers for deduplication.
    dedupe_window: int = Field(default=512, ge=16)

    # Struggle rule thresholds (docs/rules.md).
    repeated_error_count: int = Field(default=3, ge=1)
    consecutive_failure_count: int = Field(default=5, ge=1)
    stuck_minutes: float = Field(default=10.0, gt=0)
    quiz_low_below: float = Field(default=50.0, ge=0, le=100)
    quiz_high_below: float = Field(default=25.0, ge=0, le=100)
    inactivity_days: float = Field(default=3.0, gt=0)
    # learning events kept for the per-exercise view and the rule dry run (decision 010)
    event_retention_days: float = Field(default=30.0, gt=0)
    # events one background dry run replays at most (decision 011; ~0.15 ms each)
    dry_run_max_events: int = Field(default=2_000_000, ge=1)
    misconception_share: float = Field(default=0.3, gt=0, le=1)
    misconception_min_students: int = Field(default=3, ge=1)
    misconception_window_hours: float = Field(default=24.0, gt=0)
    # wheel_spinning: this many observations in a topic without the probability of knowing
    # it at this (docs/rules.md)
    wheel_spinning_attempts: int = Field(default=10, ge=1)
    wheel_spinning_mastery: float = Field(default=0.95, gt=0, lt=1)
    # JSON list in the environment, e.g. PROGRESS_HELP_PHRASES='["i am stuck"]'
    help_phrases: list[str] = Field(default_factory=lambda: list(DEFAULT_HELP_PHRASES))
    curriculum_file: Path = REPO_DIR / "config" / "curriculum.toml"
    # xAPI statements (docs/xapi.md): the mapping onto events, and the limits of one
    # request (a body over the bytes is a 413, more statements than this a 400)
    xapi_mapping_file: Path = REPO_DIR / "config" / "xapi-mapping.toml"
    xapi_max_body_bytes: int = Field(default=4 * 1024 * 1024, gt=0)
    xapi_max_statements: int = Field(default=1000, gt=0)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: Any) -> Any:
        """A comma-separated string (the environment) or a list; each an exact origin."""
        listed = value.split(",") if isinstance(value, str) else value
        if not isinstance(listed, list):
            return listed
        # browsers send the scheme and host in lower case
        origins = [str(item).strip().lower() for item in listed if str(item).strip()]
        for origin in origins:
            if not ORIGIN.match(origin):
                raise ValueError(
                    f"{origin!r} is not an origin: scheme://host[:port], no path or "
                    "trailing slash, no wildcard (credentials are allowed, so every origin "
                    "is listed)"
                )
        return origins

    @model_validator(mode="after")
    def _no_development_secrets_in_production(self) -> "Settings":
        if self.environment == "development":
            return self
        uses_dev_secret = self.jwt_secret.get_secret_value() == DEV_JWT_SECRET
        if uses_dev_secret and not (self.jwt_public_key_file or self.jwt_jwks_file):
            raise ValueError(
                "PROGRESS_JWT_SECRET is the development default; set a real secret, "
                "PROGRESS_JWT_PUBLIC_KEY_FILE or PROGRESS_JWT_JWKS_FILE"
            )
        if self.app_api_token is None:
            raise ValueError("APP_API_TOKEN must be set outside development")
        return self

    @property
    def intake_pubsubs(self) -> list[str]:
        return [f"kafka-intake-{lane}" for lane in range(1, self.intake_lanes + 1)]

    @property
    def inbound_topics(self) -> list[str]:
        return [self.learning_topic, self.exercise_topic, self.code_topic]

    @property
    def dapr_http_url(self) -> str:
        return f"http://{self.dapr_host}:{self.dapr_http_port}"


CURRICULUM_PARAMETERS_VERSION = "curriculum"  # when [knowledge_tracing] names none


def curriculum_parameters(curriculum: dict[str, Any]) -> ParameterSet:
    """The knowledge tracing parameters a curriculum gives: ``[knowledge_tracing]``
    (``version``, ``default``: prior, learn, guess, slip) and per topic
    ``knowledge_tracing`` (the four again); the code's defaults where it gives none.
    Invalid parameters are an error (``InvalidParameters``): the service does not start
    on them."""
    section = curriculum.get("knowledge_tracing", {})
    topics = {
        topic: spec["knowledge_tracing"]
        for topic, spec in curriculum.get("topics", {}).items()
        if "knowledge_tracing" in spec
    }
    if not section and not topics:
        return DEFAULT_PARAMETER_SET
    data = {"version": CURRICULUM_PARAMETERS_VERSION, **section}
    data["topics"] = {**data.get("topics", {}), **topics}
    return ParameterSet.from_dict(data)


def domain_config(settings: Settings) -> DomainConfig:
    """The rule thresholds, the curriculum's exercise targets and knowledge tracing
    parameters."""
    targets: dict[str, int] = {}
    default_target = 5
    parameters = DEFAULT_PARAMETER_SET
    if settings.curriculum_file.exists():
        curriculum = tomllib.loads(settings.curriculum_file.read_text())
        default_target = int(curriculum.get("default_exercise_target", default_target))
        targets = {
            topic: int(spec["exercise_target"])
            for topic, spec in curriculum.get("topics", {}).items()
            if "exercise_target" in spec
        }
        parameters = curriculum_parameters(curriculum)
    return DomainConfig(
        default_exercise_target=default_target,
        exercise_targets=targets,
        knowledge_tracing=parameters,
        dedupe_window=settings.dedupe_window,
        repeated_error_count=settings.repeated_error_count,
        consecutive_failure_count=settings.consecutive_failure_count,
        stuck_after=timedelta(minutes=settings.stuck_minutes),
        quiz_low_below=settings.quiz_low_below,
        quiz_high_below=settings.quiz_high_below,
        inactivity_after=timedelta(days=settings.inactivity_days),
        help_phrases=tuple(settings.help_phrases),
        misconception_share=settings.misconception_share,
        misconception_min_students=settings.misconception_min_students,
        misconception_window=timedelta(hours=settings.misconception_window_hours),
        wheel_spinning_attempts=settings.wheel_spinning_attempts,
        wheel_spinning_mastery=settings.wheel_spinning_mastery,
    )


@lru_cache
def get_settings() -> Settings:
    return Settings()
