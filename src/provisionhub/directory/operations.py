"""Operations: what each command does inside a transaction: validate, match, write, log the change, queue
the event. Who may do it is not asked here: the Directory (service.py) decides that, then calls these.

The rules (matching, uniqueness, what counts as a change, which events to emit) live here once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Connection, RowMapping, select

from provisionhub.directory import (
    entitlements,
    groups,
    lifecycle,
    memberships,
    organisations,
    reference_data,
    section_items,
    upserts,
)
from provisionhub.directory.changes import Change, check_version, record
from provisionhub.directory.entitlements import AddEntitlement, Entitlement, GrantEntitlement, GrantResult
from provisionhub.directory.errors import (
    Conflict,
    DirectoryError,
    Invalid,
    ItemError,
    NotFound,
    Reason,
    Rejected,
    worded_as,
)
from provisionhub.directory.people import (
    ACTIVE_STATUSES,
    Expect,
    Person,
    PersonResult,
    SetActive,
    SetStaff,
    SetStatus,
    Status,
    UpdatePerson,
    UpsertPerson,
    folded,
    max_length,
)
from provisionhub.directory.reference_data import (
    AddLoginSource,
    AddUserType,
    KnownCodes,
    SetLoginSourceGraceDays,
    SetUserTypeGraceDays,
    checked_grace_days,
)
from provisionhub.directory.section_catalogue import (
    LoadedSection,
    Wanted,
    current_catalogue,
    load_sections,
    section_info,
    section_options,
)
from provisionhub.directory.section_items import AddItems, ClearSection, EditItem, SectionCommand
from provisionhub.directory.sections import Catalogue, Language
from provisionhub.store import tables

Clock = Callable[[], datetime]
ACTIVE_VALUES = frozenset(status.value for status in ACTIVE_STATUSES)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Operations:
    """The commands' effects, each inside the caller's transaction (conn), as actor."""

    def __init__(self, clock: Clock = utcnow) -> None:
        self._clock = clock
        self._known = KnownCodes()

    def now(self) -> datetime:
        """The directory's clock: what it stamps changes with."""
        return self._clock()

    def execute(self, conn: Connection, command: object, actor: str) -> Any:
        """Apply one command inside the caller's transaction."""
        match command:
            case UpsertPerson():
                return self.upsert_person(conn, command, actor)
            case UpdatePerson():
                return self.update_person(conn, command, actor)
            case SetStatus():
                return self.set_status(conn, command, actor)
            case SetActive():
                return self.set_active(conn, command, actor)
            case Expect():
                return self.expect(conn, command)
            case SetStaff():
                return self.set_staff(conn, command, actor)
            case AddUserType():
                return self._add_user_type(conn, command, actor)
            case AddLoginSource():
                return self._add_login_source(conn, command, actor)
            case SetUserTypeGraceDays() | SetLoginSourceGraceDays():
                return reference_data.set_grace_days(conn, command, actor, self._clock())
            case AddEntitlement():
                return self.add_entitlement(conn, command, actor)
            case groups.CreateGroup():
                return groups.create_group(conn, command, actor, self._clock())
            case groups.ChangeGroup():
                return groups.change_group(conn, command, actor, self._clock())
            case groups.DeleteGroup():
                return groups.delete_group(conn, command, actor, self._clock())
            case groups.ExpectGroup():
                return groups.expect_group(conn, command)
            case groups.SetSourceGroups():
                return self.set_source_groups(conn, command, actor)
            case AddItems() | EditItem() | ClearSection():
                return self.change_sections(conn, [command], actor)
        raise TypeError(f"not a directory command: {command!r}")

    # -- people ------------------------------------------------------------------------------

    def upsert_person(self, conn: Connection, command: UpsertPerson, actor: str) -> PersonResult:
        [outcome] = self.upsert_each(conn, [(command, actor)])
        if isinstance(outcome, DirectoryError):
            raise outcome
        return self.follow_source(conn, command, outcome, actor)

    def follow_source(
        self, conn: Connection, command: UpsertPerson, result: PersonResult, actor: str
    ) -> PersonResult:
        """After an upsert's fields: the groups and status (or whether active) its source gives the
        person, if it says. The result counts them among what changed; its seq is the last change's."""
        changed = list(result.changed)
        seq = result.seq
        if command.groups is not None:
            source = command.login_source
            assert isinstance(source, str), "a HomeSource is the principal's own by now (authorization.homed)"
            source_groups = groups.SetSourceGroups(result.public_id, source, command.groups)
            if groups.set_source_groups(conn, source_groups, actor, self._clock()):
                changed.append("groups")
        moved: PersonResult | None = None
        if command.status is not None:
            moved = self.set_status(conn, SetStatus(result.public_id, command.status), actor)
        elif command.active is not None:
            moved = self.set_active(conn, SetActive(result.public_id, command.active), actor)
        if moved is not None and moved.changed:
            changed.append("status")
            return PersonResult(moved.row, result.created, tuple(changed), moved.seq)
        if len(changed) != len(result.changed):
            return PersonResult(result.row, result.created, tuple(changed), seq)
        return result

    def upsert_people(
        self, conn: Connection, commands: Sequence[UpsertPerson], actor: str
    ) -> list[PersonResult]:
        """Create or change many people at once, all or nothing: Rejected names every failing item."""
        outcomes = upserts.upsert(
            conn, self._known, [(c, actor) for c in commands], self._clock(), isolate=False
        )
        errors = [
            ItemError(i, o) for i, o in enumerate(outcomes) if isinstance(o, Invalid | Conflict | NotFound)
        ]
        if errors:
            raise Rejected(errors)
        results = [outcome for outcome in outcomes if isinstance(outcome, PersonResult)]
        assert len(results) == len(outcomes), "without an error, every request has its result"
        return results

    def upsert_each(
        self,
        conn: Connection,
        requests: Sequence[tuple[UpsertPerson, str]],
        allow: upserts.Allow | None = None,
    ) -> list[PersonResult | DirectoryError]:
        """Apply (command, actor) pairs as if one after another: each succeeds or fails alone. allow, if
        given, is asked about each request once its person is matched (see upserts.upsert).

        Requests for the same person go in successive rounds, so a later one sees the earlier one's result.
        """
        outcomes: dict[int, PersonResult | DirectoryError] = {}
        pending = list(range(len(requests)))
        while pending:
            this_round: list[int] = []
            later: list[int] = []
            seen: set[tuple[str, str]] = set()
            for index in pending:
                command = requests[index][0]
                if command.unique_id is None:  # a new person, their unique_id still to be drawn
                    this_round.append(index)
                    continue
                key = (str(command.login_source).strip(), str(command.unique_id).strip())
                (later if key in seen else this_round).append(index)
                seen.add(key)
            answers = upserts.upsert(
                conn,
                self._known,
                [requests[i] for i in this_round],
                self._clock(),
                isolate=True,
                allow=None if allow is None else _renumbered(allow, this_round),
            )
            for index, answer in zip(this_round, answers, strict=True):
                outcomes[index] = answer
            pending = later
        return [outcomes[index] for index in range(len(requests))]

    def update_person(self, conn: Connection, command: UpdatePerson, actor: str) -> PersonResult:
        """Change the fields given on the person with this public id (their source identity is kept)."""
        existing = _person_row(conn, command.public_id)
        unique_id, extra = existing["unique_id"], None
        mine = command.unique_id_source is None or command.unique_id_source == existing["login_source"]
        if command.unique_id is not None and mine:
            wanted = upserts.identity_part("unique_id", command.unique_id)
            if wanted != unique_id:
                table = tables.people
                taken = conn.execute(
                    select(table.c.id).where(
                        table.c.login_source == existing["login_source"], table.c.unique_id == wanted
                    )
                ).first()
                if taken is not None:
                    raise Conflict("unique_id", f"unique_id {wanted!r} is already taken")
                conn.execute(table.update().where(table.c.id == existing["id"]).values(unique_id=wanted))
                unique_id, extra = wanted, {"unique_id": (existing["unique_id"], wanted)}
        by_identity = UpsertPerson(existing["login_source"], unique_id, command.fields)
        [outcome] = upserts.upsert(
            conn, self._known, [(by_identity, actor)], self._clock(), isolate=True, extras=[extra]
        )
        if isinstance(outcome, DirectoryError):
            raise outcome
        return outcome

    def set_status(self, conn: Connection, command: SetStatus, actor: str) -> PersonResult | None:
        """Move a person to a status. Activation follows the validity window: a person whose valid_from
        has not come becomes pending, one whose valid_through has gone by is in grace or expired. None:
        nobody has the identity a command by identity names."""
        existing = person_of(conn, command)
        if existing is None:
            return None
        now = self._clock()
        old = Status(existing["status"])
        new = Status(command.status)
        if new is Status.ACTIVE:
            new = lifecycle.status_for(conn, existing, now)
        if old == new:
            return PersonResult(existing, created=False, changed=())
        row = {**existing, "status": new.value, "updated_at": now, "version": existing["version"] + 1}
        conn.execute(
            tables.people.update().where(tables.people.c.id == existing["id"]),
            {"status": new.value, "updated_at": now, "version": row["version"]},
        )
        fields = {"status": (old.value, new.value)}
        event = lifecycle.status_event(old, new)
        [seq] = record(
            conn,
            [Change(actor, "person", existing["public_id"], "status", fields, existing["id"], event)],
            now,
        )
        return PersonResult(row, created=False, changed=("status",), seq=seq)

    def expect(self, conn: Connection, command: Expect) -> None:
        """NotFound unless the person is there and not deleted; VersionMismatch unless at a version
        expected."""
        row = _person_row(conn, command.public_id)
        if row["status"] == Status.DELETED.value:
            raise NotFound(f"no person with id {command.public_id!r}")
        check_version(conn, "person", command.public_id, command.versions)

    def set_active(self, conn: Connection, command: SetActive, actor: str) -> PersonResult:
        """Make a person active or not, as SetActive says."""
        existing = _person_row(conn, command.public_id)
        if command.active == (existing["status"] in ACTIVE_VALUES):
            return PersonResult(existing, created=False, changed=())
        status = Status.ACTIVE if command.active else Status.SUSPENDED
        moved = self.set_status(conn, SetStatus(command.public_id, status), actor)
        assert moved is not None
        return moved

    def advance_lifecycle(
        self,
        conn: Connection,
        now: datetime,
        limit: int = lifecycle.BATCH_SIZE,
        actor: str = lifecycle.LIFECYCLE_ACTOR,
    ) -> list[lifecycle.Transition]:
        """Move up to limit people whose validity window calls for another status at now; the moves made.
        Each is one change-log entry and one outbox event."""
        transitions = lifecycle.due_transitions(conn, now, limit)
        lifecycle.move(conn, transitions, actor, now)
        return transitions

    def set_staff(self, conn: Connection, command: SetStaff, actor: str) -> bool:
        """Grant or revoke staff; whether anything changed. Logged, but no event: targets do not know
        provisionhub's staff."""
        table = tables.people
        row = conn.execute(
            select(table.c.id, table.c.public_id, table.c.staff).where(
                table.c.username_key == folded(command.username.strip())
            )
        ).first()
        if row is None:
            raise NotFound(f"no person has the username {command.username!r}")
        if row.staff == command.staff:
            return False
        conn.execute(table.update().where(table.c.id == row.id).values(staff=command.staff))
        fields = {"staff": (row.staff, command.staff)}
        record(conn, [Change(actor, "person", row.public_id, "staff", fields)], self._clock())
        return True

    def set_source_groups(self, conn: Connection, command: groups.SetSourceGroups, actor: str) -> bool:
        """Make the groups a source system gives a person exactly those it names now; whether anything
        changed (see groups.SetSourceGroups)."""
        return groups.set_source_groups(conn, command, actor, self._clock())

    def find_person(self, conn: Connection, public_id: str) -> Person:
        return Person.from_row(_person_row(conn, public_id))

    # -- organisations -----------------------------------------------------------------------------

    def upsert_organisations(
        self,
        conn: Connection,
        commands: Sequence[organisations.UpsertOrganisation],
        actor: str,
        scope: str | None = None,
    ) -> list[organisations.OrganisationResult]:
        """Create or change organisations, all or nothing: Rejected names every failing item.
        scope: the public id of the account whose subtree bounds what may be touched."""
        return organisations.upsert_organisations(conn, commands, actor, self._clock(), scope)

    # -- members ------------------------------------------------------------------------------------

    def upsert_members(
        self,
        conn: Connection,
        commands: Sequence[memberships.UpsertMember],
        actor: str,
        scope: str | None = None,
        sources: frozenset[str] | None = None,
    ) -> list[memberships.MemberResult]:
        """Create or change people and where they belong, all or nothing: Rejected names every failing
        item. scope: the public id of the account whose members alone may be touched; sources: the login
        sources whose people alone may be."""
        return memberships.upsert_members(conn, self._known, commands, actor, self._clock(), scope, sources)

    # -- entitlements ------------------------------------------------------------------------------

    def add_entitlement(self, conn: Connection, command: AddEntitlement, actor: str) -> Entitlement:
        """Add an entitlement to the catalogue; Conflict if its code is taken."""
        return entitlements.add_entitlement(conn, command, actor, self._clock())

    def grant_entitlements(
        self, conn: Connection, commands: Sequence[GrantEntitlement], actor: str, scope: str | None = None
    ) -> list[GrantResult]:
        """Grant entitlements to buildings or change those grants, all or nothing: Rejected names every
        failing item. scope: the public id of the account whose buildings alone may be touched."""
        return entitlements.grant_entitlements(conn, commands, actor, self._clock(), scope)

    # -- profile sections ----------------------------------------------------------------------------

    def section_catalogue(self, conn: Connection) -> Catalogue:
        """The profile sections in force: the shipped ones, with those an operator loaded."""
        return current_catalogue(conn)

    def load_sections(self, conn: Connection, document: Any, actor: str) -> list[LoadedSection]:
        """Add the sections of a catalogue document or replace those of the same path, all or none."""
        return load_sections(conn, document, actor, self._clock())

    def read_sections(
        self, conn: Connection, persons: Sequence[str], wanted: Wanted, language: Language = Language.EN
    ) -> dict[str, dict[str, list[dict[str, Any]]]]:
        """The items of the sections wanted ({path: field names, or None for all}) of each person (public
        ids), by person, then by section path; the fields bound to the person read from the person."""
        return section_items.read_sections(conn, current_catalogue(conn), persons, wanted, language)

    def change_sections(
        self, conn: Connection, commands: Sequence[SectionCommand], actor: str
    ) -> dict[str, list[str]]:
        """Add, edit and clear items, in order, all or nothing; the section paths changed, by person.

        Fields bound to the person change the person (one UpdatePerson each, logged as theirs); items
        change in one change-log entry a person, with an `edited` event. Invalid names the field path.
        """
        catalogue = current_catalogue(conn)
        plan = section_items.plan_changes(conn, catalogue, commands)
        shown = section_items.sections_of_person_fields(catalogue)
        changed: dict[str, list[str]] = {}
        for public_id, fields in plan.person_fields.items():
            try:
                result = self.update_person(conn, UpdatePerson(public_id, fields), actor)
            except (Invalid, Conflict) as exc:
                raise _named_by_path(exc, plan.bound_paths[public_id]) from None
            paths = sorted({path for name in result.changed for path in shown.get(name, ())})
            if paths:
                changed[public_id] = paths
        for public_id, paths in section_items.write_changes(conn, plan, actor, self._clock()).items():
            changed[public_id] = [*changed.get(public_id, []), *paths]
        return changed

    def section_info(
        self, conn: Connection, wanted: Wanted, language: Language = Language.EN
    ) -> dict[str, Any]:
        """What each section wanted is: name, title, fields with their types, its sections, by path."""
        return section_info(current_catalogue(conn), wanted, language)

    def section_options(
        self, conn: Connection, wanted: Wanted, language: Language = Language.EN
    ) -> dict[str, Any]:
        """The choices of the lists of values wanted, by section path, then field name."""
        return section_options(current_catalogue(conn), wanted, language)

    def sections_modified_since(
        self, conn: Connection, since: datetime, persons: Sequence[str] | None = None
    ) -> dict[str, set[str]]:
        """The section paths of each person (public id) changed at or after since, from the change log."""
        return section_items.modified_since(conn, current_catalogue(conn), since, persons)

    # -- reference data ---------------------------------------------------------------------------

    def _add_user_type(self, conn: Connection, command: AddUserType, actor: str) -> AddUserType:
        _require_code("id", command.id, tables.user_types.c.id)
        _require_code("name", command.name, tables.user_types.c.name)
        exists = conn.execute(
            select(tables.user_types.c.id).where(tables.user_types.c.id == command.id)
        ).first()
        if exists:
            raise Conflict("id", f"user type {command.id!r} already exists")
        now = self._clock()
        row = {
            "id": command.id,
            "name": command.name,
            "ext_info": command.ext_info,
            "grace_days": checked_grace_days(command.grace_days),
        }
        conn.execute(tables.user_types.insert(), {**row, "created_at": now})
        fields = {name: (None, value) for name, value in row.items() if name != "id"}
        record(conn, [Change(actor, "user_type", command.id, "create", fields)], now)
        return command

    def _add_login_source(self, conn: Connection, command: AddLoginSource, actor: str) -> AddLoginSource:
        _require_code("code", command.code, tables.login_sources.c.code)
        _require_code("name", command.name, tables.login_sources.c.name)
        table = tables.login_sources
        if conn.execute(select(table.c.code).where(table.c.code == command.code)).first():
            raise Conflict("code", f"login source {command.code!r} already exists")
        now = self._clock()
        row = {
            "code": command.code,
            "name": command.name,
            "requires_username": command.requires_username,
            "grace_days": checked_grace_days(command.grace_days),
        }
        conn.execute(table.insert(), {**row, "created_at": now})
        fields = {name: (None, value) for name, value in row.items() if name != "code"}
        record(conn, [Change(actor, "login_source", command.code, "create", fields)], now)
        return command


def _require_code(name: str, value: str, column: Column[Any]) -> None:
    limit = max_length(column)
    if not value or not value.strip():
        raise Invalid(name, Reason.REQUIRED, f"{name} is required")
    if len(value) > limit:
        raise Invalid(name, Reason.TOO_LONG, f"{name} must be at most {limit} characters")


def _named_by_path(error: Invalid | Conflict, paths: Mapping[str, str]) -> Invalid | Conflict:
    """A person's error about a field a section shows, naming the section's field path instead."""
    path = paths.get(error.field)
    if path is None:
        return error
    if isinstance(error, Invalid):
        return Invalid(path, error.reason, worded_as(error, path))
    return Conflict(path, worded_as(error, path))


def person_of(conn: Connection, command: SetStatus) -> RowMapping | None:
    """The person a SetStatus names: by public id (NotFound if nobody), or by source identity (None if
    nobody has it)."""
    if command.public_id is not None:
        return _person_row(conn, command.public_id)
    assert command.identity is not None
    source, unique_id = command.identity
    table = tables.people
    statement = select(table).where(table.c.login_source == source, table.c.unique_id == unique_id)
    return conn.execute(statement).mappings().first()


def _renumbered(allow: upserts.Allow, indexes: Sequence[int]) -> upserts.Allow:
    """allow, asked by a round's positions, answering by the whole batch's."""
    return lambda index, existing: allow(indexes[index], existing)


def _person_row(conn: Connection, public_id: str) -> RowMapping:
    row = conn.execute(select(tables.people).where(tables.people.c.public_id == public_id)).mappings().first()
    if row is None:
        raise NotFound(f"no person with id {public_id!r}")
    return row
