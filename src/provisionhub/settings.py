"""The one Settings object, read from the environment (prefix PROVISIONHUB_) and passed down."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./var/provisionhub.db"

#: Connections a pool keeps open. On PostgreSQL requests read on worker threads (anyio's default limit is
#: forty), each holding a connection while it does. With SQLAlchemy's default of five, a burst's overflow
#: connections were opened and closed over and over, each a new server process (docs/benchmarks).
DEFAULT_DATABASE_POOL_SIZE = 20

#: SQLite's synchronous levels offered in WAL mode: NORMAL syncs the WAL at checkpoints (a commit survives
#: a killed process, not always a power loss or OS crash), FULL at every commit.
SqliteSynchronous = Literal["NORMAL", "FULL"]


class Settings(BaseSettings):
    """Everything provisionhub can be told at start. Created once, in create_app or the CLI."""

    model_config = SettingsConfigDict(env_prefix="PROVISIONHUB_", extra="ignore")

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL: sqlite:///path (default) or postgresql+psycopg://user@host/db.",
    )
    host: str = Field("127.0.0.1", description="The address `serve` listens on (its `--host` wins).")
    port: int = Field(8000, description="The port `serve` listens on (its `--port` wins).")
    ssl_certfile: str | None = Field(
        None,
        description=(
            "A PEM certificate (chain) file: `serve` answers HTTPS with it (its `--ssl-certfile` wins)."
            " Unset: plain HTTP, for loopback or behind a reverse proxy that ends TLS."
        ),
    )
    ssl_keyfile: str | None = Field(
        None,
        description=(
            "The PEM private key of ssl_certfile, when that file does not hold it (its `--ssl-keyfile` wins)."
        ),
    )
    max_body_bytes: int = Field(1_048_576, description="Largest request body accepted, in bytes.")
    bulk_max_body_bytes: int = Field(
        16_777_216,
        description="Largest body of a bulk request (myON's arrays of up to 1,000 items), in bytes.",
    )
    write_batch_size: int = Field(
        256, description="Most queued writes committed together in one transaction (group commit)."
    )
    write_mode: Literal["auto", "inline", "thread"] = Field(
        "auto",
        description="Where queued writes are committed: on the event loop (inline, SQLite's default) or on "
        "a writer thread (thread, PostgreSQL's default).",
    )
    read_mode: Literal["auto", "inline", "thread"] = Field(
        "auto",
        description="Where reads run: on the event loop over one kept connection (inline, SQLite's "
        "default) or on worker threads from the pool (thread, PostgreSQL's default).",
    )
    database_pool_size: int = Field(
        DEFAULT_DATABASE_POOL_SIZE,
        ge=1,
        description="Connections the pool keeps open for reads on worker threads (PostgreSQL's) and other "
        "work; as many again are opened for a burst and closed when returned.",
    )
    sqlite_synchronous: SqliteSynchronous = Field(
        "NORMAL",
        description="SQLite's synchronous level in WAL mode: NORMAL (a commit survives a killed process; "
        "the last commits before a power loss or OS crash may not) or FULL (each commit's WAL synced to "
        "disk before it is answered, at a cost in write rate). Ignored on PostgreSQL.",
    )
    dispatch: bool = Field(
        True,
        description="Whether serve runs the delivery dispatcher (false: leave it to `provisionhub worker`).",
    )
    delivery_backoff_seconds: float = Field(
        2.0, gt=0, description="A failed delivery's first wait before its next try; each further one doubles."
    )
    delivery_backoff_max_seconds: float = Field(3600.0, gt=0, description="The longest wait between tries.")
    delivery_lease_seconds: float = Field(
        120.0,
        gt=0,
        description="How long a dispatcher holds a delivery it is sending; past it (the dispatcher died), "
        "another sends it.",
    )
    delivery_timeout_seconds: float = Field(30.0, gt=0, description="Each call to a target, at most.")
    oauth_token_seconds: int = Field(
        3600,
        gt=0,
        description="How long an OAuth access token (UNIWeb's token endpoint) is valid, in seconds.",
    )
    oauth_failures_before_hold: int = Field(
        5,
        ge=1,
        description="Wrong secrets in a row for one OAuth client id before its token requests are held off.",
    )
    oauth_hold_seconds: float = Field(
        2.0, gt=0, description="The first hold after too many wrong secrets; each further one doubles it."
    )
    oauth_max_hold_seconds: float = Field(
        900.0,
        gt=0,
        description="The longest hold; wrong secrets older than this (none since) are forgotten.",
    )
    lifecycle_interval_seconds: float = Field(
        60.0,
        ge=0,
        description="How often serve applies the lifecycle's scheduled transitions (activated, grace period, "
        "expired, unexpired), in seconds; 0 disables them (`provisionhub lifecycle run` from cron instead).",
    )
    retention_days: int = Field(
        30,
        ge=0,
        description="Days a finished delivery (delivered, or folded into another) and its attempts are kept "
        "before serve removes them, hourly (`provisionhub db prune` from cron instead); 0 keeps them "
        "forever. Dead letters are kept until replayed.",
    )
    opentelemetry: bool = Field(
        False,
        description="Let FastAPI trace and measure requests through OpenTelemetry, for a process launched "
        "with OpenTelemetry's SDK configured (opentelemetry-instrument). Off, no request pays for asking "
        "whether it is.",
    )
    log_level: str = Field(
        "info",
        description="uvicorn's log level for `serve`: critical, error, warning, info (a line a request in "
        "the access log), debug or trace.",
    )

    @field_validator("sqlite_synchronous", mode="before")
    @classmethod
    def _upper_case(cls, value: Any) -> Any:
        """SQLite takes its pragma's value in any case: so does the setting (full is FULL)."""
        return value.upper() if isinstance(value, str) else value
