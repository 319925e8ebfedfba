"""The schema, in SQLAlchemy Core. Every change to it is an Alembic migration."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    false,
    text,
)

from provisionhub.store.types import BigId, Json, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

login_sources = Table(
    "login_sources",
    metadata,
    Column("code", String(20), primary_key=True),
    Column("name", String(100), nullable=False),
    # People of a source that signs in with a username (OPS-COM's native OPSCOM) must have one.
    Column("requires_username", Boolean, nullable=False, server_default=false()),
    # Days its people stay in grace_period after their valid_through; NULL: not set (0 unless their user
    # type sets it). A user type's setting wins over its login source's.
    Column("grace_days", Integer),
    Column("created_at", UTCDateTime(), nullable=False),
)

user_types = Table(
    "user_types",
    metadata,
    Column("id", String(20), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("ext_info", String(255)),
    # Days its people stay in grace_period after their valid_through; NULL: not set (see login_sources).
    Column("grace_days", Integer),
    Column("created_at", UTCDateTime(), nullable=False),
)

people = Table(
    "people",
    metadata,
    # id is the stable integer reference id some dialects show (OPS-COM's reference_id).
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("public_id", String(36), nullable=False, unique=True),
    Column("login_source", String(20), ForeignKey("login_sources.code"), nullable=False),
    Column("unique_id", String(255), nullable=False),
    Column("username", String(255)),
    # Lower-cased copies carry the case-insensitive uniqueness of username and email.
    Column("username_key", String(255), unique=True),
    Column("email", String(254)),
    Column("email_key", String(254), unique=True),
    Column("name_prefix", String(50)),
    Column("given_name", String(100)),
    Column("middle_name", String(100)),
    Column("family_name", String(100)),
    Column("name_suffix", String(50)),
    Column("display_name", String(255)),
    Column("title", String(255)),
    Column("company", String(255)),
    Column("location", String(255)),
    Column("preferred_locale", String(100)),
    Column("locale", String(64)),
    Column("mobile_phone", String(50)),
    Column("street", String(255)),
    Column("city", String(100)),
    Column("region", String(50)),
    Column("postal_code", String(40)),
    Column("country", String(100)),
    Column("alt_street", String(255)),
    Column("alt_city", String(100)),
    Column("alt_region", String(50)),
    Column("alt_postal_code", String(40)),
    Column("alt_country", String(100)),
    # SCIM's multi-valued attributes (emails, phoneNumbers, addresses) as a SCIM client last wrote them:
    # shown back while they still agree with the columns above, which every dialect reads.
    Column("scim_values", Json),
    Column("employee_number", String(50)),
    # SCIM's enterprise extension: the department, and the manager (their id, as the source gives it).
    Column("department", String(255)),
    Column("manager_id", String(255)),
    Column("employee_phone", String(50)),
    Column("student_number", String(50)),
    Column("student_phone", String(50)),
    Column("user_type_id", String(20), ForeignKey("user_types.id")),
    Column("locker_user_type_id", String(64)),
    Column("drivers_licence_number", String(255)),
    Column("drivers_licence_region", String(50)),
    Column("date_of_birth", Date()),
    # Argon2 (PHC string), for the dialects whose people sign in with a password. Never returned or logged.
    Column("password_hash", String(255)),
    # provisionhub's own staff: OCL's administrators (CLI `staff grant`). No dialect writes it.
    Column("staff", Boolean, nullable=False, server_default=false()),
    Column("status", String(20), nullable=False),
    Column("valid_from", UTCDateTime()),
    Column("valid_through", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("version", Integer, nullable=False),
    Index(None, "login_source", "unique_id", unique=True),
    Index(None, "updated_at"),
    # Who is not deleted, in id order, without reading the wide rows: lists count their people and skip
    # to a page's offset through it, several times faster than through the wide rows (docs/benchmarks).
    Index(None, "id", "status"),
    # The lifecycle's due transitions, by status and moment (directory/lifecycle.py); only people with a
    # window are indexed, so the many without one cost no index writes.
    Index(
        None,
        "status",
        "valid_from",
        sqlite_where=text("valid_from IS NOT NULL"),
        postgresql_where=text("valid_from IS NOT NULL"),
    ),
    Index(
        None,
        "status",
        "valid_through",
        sqlite_where=text("valid_through IS NOT NULL"),
        postgresql_where=text("valid_through IS NOT NULL"),
    ),
    sqlite_autoincrement=True,
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    # SHA-256 of the secret, hex. The secret itself is shown once and never stored.
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("permissions", Json, nullable=False),
    Column("login_sources", Json),
    # A token scoped to one account (an organisation of kind account) sees and touches only its subtree.
    Column("account_id", BigId, ForeignKey("organisations.id")),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime()),
    sqlite_autoincrement=True,
)

#: Keys people get by signing in (OCL's `POST /users/login/`): SHA-256 of the key, never the key itself.
person_keys = Table(
    "person_keys",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("person_id", BigId, ForeignKey("people.id"), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Index(None, "person_id", "id"),
    sqlite_autoincrement=True,
)

changes = Table(
    "changes",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("entity_type", String(40), nullable=False),
    Column("entity_id", String(36), nullable=False),
    Column("action", String(40), nullable=False),
    # {field: [old, new]}; sensitive fields are masked before they get here.
    Column("fields", Json, nullable=False),
    # No index on occurred_at: seq grows with time, so a time range is a seq range.
    Index(None, "entity_type", "entity_id", "seq"),
    sqlite_autoincrement=True,
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("change_seq", BigId, ForeignKey("changes.seq"), nullable=False),
    Column("person_id", BigId, ForeignKey("people.id"), nullable=False),
    Column("event", String(30), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    # Set once the dispatcher has made the event's deliveries (provisioning/); new events are false.
    Column("dispatched", Boolean, nullable=False, server_default=false()),
    Index(None, "person_id", "id"),
    sqlite_autoincrement=True,
)
# The events not yet dispatched, in order: a small index, each entry gone once dispatched.
Index(
    "ix_outbox_undispatched",
    outbox.c.id,
    sqlite_where=outbox.c.dispatched == false(),
    postgresql_where=outbox.c.dispatched == false(),
)

organisations = Table(
    "organisations",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("public_id", String(36), nullable=False, unique=True),
    # account (a myON district), building (a school, under an account), unit (UNIWeb).
    Column("kind", String(20), nullable=False),
    Column("parent_id", BigId, ForeignKey("organisations.id")),
    Column("title", String(255), nullable=False),
    Column("description", String(2000)),
    Column("address_line_1", String(255)),
    Column("address_line_2", String(255)),
    Column("city", String(100)),
    Column("state", String(2)),
    Column("zip_code", String(10)),
    Column("address_full", String(1000)),
    Column("time_zone", String(64)),
    Column("sis_id", String(100)),
    Column("mdr_id", String(100)),
    Column("crm_id", String(100)),
    Column("rpid", String(100)),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("version", Integer, nullable=False),
    Index(None, "parent_id"),
    # UNIWeb's modified_since on units.
    Index(None, "updated_at"),
    sqlite_autoincrement=True,
)

#: The entitlement catalogue: what a building can be granted (myON's "permissions").
entitlements = Table(
    "entitlements",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("public_id", String(36), nullable=False, unique=True),
    Column("code", String(100), nullable=False, unique=True),
    Column("title", String(255), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    sqlite_autoincrement=True,
)

grants = Table(
    "grants",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("entitlement_id", BigId, ForeignKey("entitlements.id"), nullable=False),
    Column("organisation_id", BigId, ForeignKey("organisations.id"), nullable=False),
    Column("start_date", UTCDateTime()),
    Column("end_date", UTCDateTime()),
    Column("active", Boolean, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index(None, "organisation_id", "entitlement_id", unique=True),
    sqlite_autoincrement=True,
)

memberships = Table(
    "memberships",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("person_id", BigId, ForeignKey("people.id"), nullable=False),
    # The account the person belongs to, and within it (optionally) a building.
    Column("account_id", BigId, ForeignKey("organisations.id"), nullable=False),
    Column("building_id", BigId, ForeignKey("organisations.id")),
    Column("role", String(30), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index(None, "person_id", "account_id", unique=True),
    Index(None, "account_id"),
    sqlite_autoincrement=True,
)

#: Named sets of people (SCIM Groups, UNIWeb groups, what COmanage calls members).
groups = Table(
    "groups",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("public_id", String(36), nullable=False, unique=True),
    Column("display_name", String(255), nullable=False),
    # casefold() of display_name: names are unique case-insensitively.
    Column("name_key", String(255), nullable=False, unique=True),
    # The id the source system knows the group by (SCIM externalId).
    Column("external_id", String(255)),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("version", Integer, nullable=False),
    # UNIWeb's modified_since on groups.
    Index(None, "updated_at"),
    sqlite_autoincrement=True,
)

group_members = Table(
    "group_members",
    metadata,
    Column("group_id", BigId, ForeignKey("groups.id"), primary_key=True),
    Column("person_id", BigId, ForeignKey("people.id"), primary_key=True),
    Column("created_at", UTCDateTime(), nullable=False),
    # The login source whose system gave this membership with the person's own record (COmanage's
    # `members`): a later record from it ends the memberships it no longer names. NULL: given otherwise
    # (a group's own API, such as SCIM's Groups), and left alone by such records.
    Column("source", String(20)),
    # A person's groups (the primary key serves a group's members).
    Index(None, "person_id"),
)

#: OAuth 2.0 clients (UNIWeb's API clients): a public client id, a secret stored only as its SHA-256, what
#: the client may do, and its recent wrong secrets, which hold off its token requests (auth/oauth.py).
oauth_clients = Table(
    "oauth_clients",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("client_id", String(64), nullable=False, unique=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("secret_hash", String(64), nullable=False),
    Column("permissions", Json, nullable=False),
    # Only members of these login sources may be read or written through the client's tokens (NULL: all).
    Column("login_sources", Json),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime()),
    # Token requests counted against the client since its last right secret; forgotten when old.
    Column("failures", Integer, nullable=False, server_default="0"),
    Column("last_failure_at", UTCDateTime()),
    # No token request for this client is checked before this time.
    Column("held_until", UTCDateTime()),
    sqlite_autoincrement=True,
)

#: Access tokens issued to OAuth clients, stored only as their SHA-256.
oauth_tokens = Table(
    "oauth_tokens",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("oauth_client_id", BigId, ForeignKey("oauth_clients.id"), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    # A client's tokens by expiry: issuing a token drops the client's long-expired ones.
    Index(None, "oauth_client_id", "expires_at"),
    sqlite_autoincrement=True,
)

#: Profile sections an operator loaded (`provisionhub sections load`), over the default catalogue that ships
#: in code (directory/default_sections.py): a row replaces the default section of the same path.
profile_sections = Table(
    "profile_sections",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    # The change log names a section by this id: paths can be longer than its entity ids.
    Column("public_id", String(36), nullable=False, unique=True),
    Column("path", String(500), nullable=False, unique=True),
    # The section's own node of a catalogue document (title, single, fields), without its subsections.
    Column("definition", Json, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("version", Integer, nullable=False),
    sqlite_autoincrement=True,
)

#: The items of a person's profile sections (a degree of cv/education/degrees), in order.
profile_section_items = Table(
    "profile_section_items",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("person_id", BigId, ForeignKey("people.id"), nullable=False),
    Column("section", String(500), nullable=False),
    Column("position", Integer, nullable=False),
    # {field name: value as stored}: see directory/section_values.py.
    Column("field_values", Json, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("version", Integer, nullable=False),
    Index(None, "person_id", "section", "position"),
    sqlite_autoincrement=True,
)


# -- outbound provisioning (provisioning/) ---------------------------------------------------------------

#: The downstream systems every person change is delivered to.
targets = Table(
    "targets",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
    Column("kind", String(20), nullable=False),  # apiprovisioner, scim
    Column("url", String(2000), nullable=False),
    Column("mode", String(10), nullable=False, server_default="put"),  # ApiProvisioner: post, put
    # PUT mode's upsert method: the seed's PUT, or COmanage's code's POST.
    Column("upsert_method", String(10), nullable=False, server_default="PUT"),
    Column("identifier_type", String(30), nullable=False, server_default="uuid"),
    Column("auth", String(10), nullable=False, server_default="none"),  # none, basic, bearer
    Column("username", String(255)),
    # The password or bearer token sent to the target: it must be sent, so it cannot be hashed. Never
    # printed, logged or answered.
    Column("secret", String(2000)),
    Column("include_date_of_birth", Boolean, nullable=False, server_default=false()),
    Column("rate_limit", Integer),  # most deliveries a second (per process); None: no limit
    Column("max_attempts", Integer, nullable=False, server_default="10"),
    Column("timeout_seconds", Float),  # each call's timeout; None: the delivery_timeout_seconds setting
    Column("state", String(20), nullable=False, server_default="active"),  # active, paused, tripped
    Column("probe_at", UTCDateTime()),  # a tripped target's next probe
    Column("last_success_at", UTCDateTime()),
    Column("last_error", String(500)),
    Column("last_error_at", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
    # A removed target is kept, its deliveries and their attempts referring to it, and is seen no more.
    Column("removed_at", UTCDateTime()),
    # A name is unique among the targets not removed: one removed keeps its name in the history, and the
    # name is free for a new target. A partial index, which SQLite and PostgreSQL both have.
    Index(
        None,
        "name",
        unique=True,
        sqlite_where=text("removed_at IS NULL"),
        postgresql_where=text("removed_at IS NULL"),
    ),
    sqlite_autoincrement=True,
)

#: One person's changes owed to one target: events for a person not yet sent are coalesced into one
#: delivery, which sends the person's state at the time it goes out.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("target_id", BigId, ForeignKey("targets.id"), nullable=False),
    Column("person_id", BigId, ForeignKey("people.id"), nullable=False),
    Column("outbox_id", BigId),  # the newest event it carries (None: a manual reprovision)
    Column("event", String(30), nullable=False),
    Column("state", String(20), nullable=False),  # pending, sending, delivered, dead, folded
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("lease_until", UTCDateTime()),  # a sending delivery's claim; past it, it is pending again
    Column("claimed_by", String(100)),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime()),
    Column("last_status", Integer),
    Column("last_error", String(500)),
    Index(None, "state", "next_attempt_at"),
    Index(None, "target_id", "person_id", "state"),
    Index(None, "state", "finished_at"),  # retention: finished deliveries by age
    sqlite_autoincrement=True,
)

#: Every try of a delivery, kept for the delivery log.
delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("delivery_id", BigId, ForeignKey("deliveries.id"), nullable=False, index=True),
    Column("target_id", BigId, ForeignKey("targets.id"), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("status", Integer),  # the HTTP status; None: no answer
    Column("ok", Boolean, nullable=False),
    Column("response", String(500)),
    Column("error", String(500)),
    Column("next_attempt_at", UTCDateTime()),
    Column("elapsed_ms", Integer),
    Index(None, "target_id", "id"),
    sqlite_autoincrement=True,
)

#: What a target calls a person (a SCIM server's id for the User it holds).
target_links = Table(
    "target_links",
    metadata,
    Column("target_id", BigId, ForeignKey("targets.id"), primary_key=True),
    Column("person_id", BigId, ForeignKey("people.id"), primary_key=True),
    Column("remote_id", String(255), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)
