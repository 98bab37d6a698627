"""The one settings object. Every value can be set through a ``PROGRESS_``-prefixed
environment variable (for example ``PROGRESS_DATABASE_URL``)."""

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROGRESS_", extra="ignore")

    environment: str = "development"
    # "json", "console" or "auto" (console when stderr is a terminal).
    log_format: str = "auto"

    # daprd sidecar
    dapr_host: str = "127.0.0.1"
    dapr_http_port: int = Field(default=3500, validation_alias="DAPR_HTTP_PORT")
    dapr_api_token: str | None = Field(default=None, validation_alias="DAPR_API_TOKEN")
    pubsub_name: str = "kafka-pubsub"
    statestore_name: str = "actorstate"

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

    # Per-dependency timeout of GET /health, seconds.
    health_timeout_s: float = 3.0

    # A delivery larger than this is a poison event (dead-lettered, not processed).
    max_event_bytes: int = 64 * 1024

    # Actor state lives this long after its last write (contract: 30 days).
    actor_state_ttl_s: int = 30 * 24 * 3600
    # How many recent event_ids each student actor remembers for deduplication.
    dedupe_window: int = 512

    @property
    def inbound_topics(self) -> list[str]:
        return [self.learning_topic, self.exercise_topic, self.code_topic]

    @property
    def dapr_http_url(self) -> str:
        return f"http://{self.dapr_host}:{self.dapr_http_port}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
