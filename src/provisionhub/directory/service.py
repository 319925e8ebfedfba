"""Directory: the one door into the directory. Every dialect, the command line and the lifecycle change
and read it here, with the caller's credential.

A write is `await directory.submit(credential, commands)`: the credential is resolved and every command
checked against its target's scope (authorization.py) inside the transaction that applies it, so rows,
change log, outbox and the decision to allow them commit together. Concurrent submissions share commits
(the store's group commit): a batch of them is resolved with one credential query, and the submissions
that are a single upsert (a push, a SCIM create) go through one batched upsert, each succeeding or failing
alone. A read is `await directory.read(credential, query)`: one snapshot, the principal resolved in it,
what it may not see left out.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from sqlalchemy import Connection

from provisionhub.directory import authorization
from provisionhub.directory.access import (
    ANONYMOUS,
    Anonymous,
    Authenticator,
    Credential,
    Permission,
    Principal,
)
from provisionhub.directory.errors import DirectoryError, Unauthenticated
from provisionhub.directory.lifecycle import BATCH_SIZE, LIFECYCLE_ACTOR, Transition
from provisionhub.directory.operations import Clock, Operations, utcnow
from provisionhub.directory.operators import Operator
from provisionhub.directory.passwords import (
    NEW,
    PASSWORD,
    Key,
    password_targets,
    stored_hashes,
    with_password_hashes,
)
from provisionhub.directory.people import UpsertPerson
from provisionhub.directory.queries import Query, Reading
from provisionhub.store.database import Database

T = TypeVar("T")

__all__ = ["Directory", "Receipt", "Unit", "utcnow"]


@dataclass(slots=True)  # not frozen: made for every write, and freezing makes each one slower
class Unit:
    """Commands applied in order, all or nothing; answer: a query run after them, in their transaction
    (what the write leaves, as the caller will show it). check: applied and then rolled back: what the
    commands would do (or why they would be refused), nothing written."""

    commands: Sequence[object]
    answer: Query[Any] | None = None
    check: bool = False


@dataclass(slots=True)
class Receipt:
    """What a unit did: each command's result, in order, and its answer's (None without one)."""

    results: list[Any]
    answer: Any = None


@dataclass(slots=True)
class _Submission:
    """Units waiting in the write queue with the credential they came with. single: the caller wants
    the one unit's receipt or its error raised; otherwise a receipt or an error for each unit. refused:
    the units refused before they were queued (a password that breaks the rules), by position."""

    credential: Credential | Operator
    units: Sequence[Unit]
    single: bool
    refused: Mapping[int, DirectoryError]


class Directory:
    """The one way into the directory: submit commands, read queries, with a credential."""

    def __init__(self, database: Database, authenticator: Authenticator, clock: Clock = utcnow) -> None:
        self._database = database
        self._authenticator = authenticator
        self._operations = Operations(clock)
        self._clock = clock
        # One bound method, so that every submission goes to the same batch handler.
        self._handler = self._apply_submissions

    def now(self) -> datetime:
        """The directory's clock: what it stamps changes with."""
        return self._clock()

    # -- writes ----------------------------------------------------------------------------------------

    async def submit(
        self,
        credential: Credential | Operator,
        commands: Sequence[object],
        answer: Query[Any] | None = None,
        *,
        check: bool = False,
    ) -> Receipt:
        """Apply commands in order, all or nothing, as the credential's principal; raises the first
        refusal (a batch command names every failing item: Rejected). check: write nothing, only say
        what they would do."""
        units = [Unit(commands, answer, check)]
        for command in commands:
            if password_targets(command):  # most writes set none
                units, _ = await self._hashed(credential, units, single=True)
                break
        submission = _Submission(credential, units, True, _NONE)
        receipt: Receipt = await self._database.write_item(self._handler, submission)
        return receipt

    async def submit_each(
        self, credential: Credential | Operator, units: Sequence[Unit]
    ) -> list[Receipt | DirectoryError]:
        """Apply each unit alone, in order, in one transaction: a receipt or the refusal of each."""
        if not units:
            return []
        prepared, refused = await self._hashed(credential, units, single=False)
        submission = _Submission(credential, prepared, False, refused)
        outcomes: list[Receipt | DirectoryError] = await self._database.write_item(self._handler, submission)
        return outcomes

    def apply(self, command: object, actor: str = "cli") -> Any:
        """Apply one command as provisionhub itself (the command line, a test): an operator named actor,
        in a transaction of its own. Its result; a refusal is raised."""
        with self._database.transaction() as conn:
            return self.apply_in(conn, command, actor)

    def apply_in(self, conn: Connection, command: object, actor: str = "cli") -> Any:
        """apply, inside the caller's transaction on conn: commands whose arguments come from earlier
        results (a building's account), and the caller's other writes, committed together or not at all.
        A refusal is raised, and may leave part of its command written: the caller rolls back."""
        return self._run(conn, Operator(actor).principal, Unit([command])).results[0]

    async def advance_lifecycle(self, now: datetime, limit: int = BATCH_SIZE) -> list[Transition]:
        """Move up to limit people whose validity window calls for another status at now: one change-log
        entry and one outbox event each, as the lifecycle. The moves made."""
        return await self._database.write(
            lambda conn: self._operations.advance_lifecycle(conn, now, limit, LIFECYCLE_ACTOR)
        )

    # -- reads -----------------------------------------------------------------------------------------

    async def read(self, credential: Credential | Operator, query: Query[T]) -> T:
        """The answer to a query, as the credential's principal sees the directory: one snapshot."""
        return await self._database.read(lambda conn: query.run(self._reading(conn, credential)))

    async def principal(self, credential: Credential | Operator, *any_of: Permission) -> Principal:
        """The credential's principal, holding one of these permissions if any are named: to refuse a
        request before its body is read or a password hashed (the write checks again)."""

        def check(conn: Connection) -> Principal:
            principal = self._principal(conn, credential)
            if any_of:
                principal.require_any(*any_of)
            return principal

        return await self._database.read(check)

    # -- inside a transaction --------------------------------------------------------------------------

    def _reading(self, conn: Connection, credential: Credential | Operator) -> Reading:
        return Reading(conn, self._principal(conn, credential))

    def _principal(self, conn: Connection, credential: Credential | Operator) -> Principal:
        if isinstance(credential, Operator):
            return credential.principal
        if isinstance(credential, Anonymous):
            return ANONYMOUS
        found = self._authenticator.principal(conn, credential)
        if isinstance(found, Unauthenticated):
            raise found
        return found

    def _principals(
        self, conn: Connection, credentials: Collection[Credential | Operator]
    ) -> dict[Credential | Operator, Principal | Unauthenticated]:
        own: dict[Credential | Operator, Principal | Unauthenticated] = {}
        others: list[Credential] = []
        for credential in credentials:
            if isinstance(credential, Operator):
                own[credential] = credential.principal
            elif isinstance(credential, Anonymous):
                own[credential] = ANONYMOUS
            else:
                others.append(credential)
        if others:
            own.update(self._authenticator.principals(conn, others).items())
        return own

    def _apply_submissions(self, conn: Connection, submissions: list[_Submission]) -> list[Any]:
        """The write queue's batch handler: every submission queued meanwhile, in one transaction.

        Each outcome is the submission's receipt (or its list of outcomes), or the exception that
        refused it having written nothing: each unit runs in a savepoint of its own, and the single
        upserts in one batched upsert that isolates each.
        """
        principals = self._principals(conn, {s.credential for s in submissions})
        outcomes: list[list[Receipt | DirectoryError | None] | DirectoryError] = []
        upserts: list[tuple[int, int, UpsertPerson, Principal]] = []
        for index, submission in enumerate(submissions):
            principal = principals[submission.credential]
            if isinstance(principal, Unauthenticated):
                outcomes.append(Unauthenticated(principal.message, principal.problem))  # one each
                continue
            results: list[Receipt | DirectoryError | None] = []
            for place, unit in enumerate(submission.units):
                if place in submission.refused:
                    results.append(submission.refused[place])
                    continue
                alone = len(unit.commands) == 1 and unit.answer is None and not unit.check
                command = unit.commands[0] if alone else None
                if isinstance(command, UpsertPerson) and command.plain:
                    upserts.append((index, place, command, principal))
                    results.append(None)
                    continue
                try:
                    with conn.begin_nested() as savepoint:
                        results.append(self._run(conn, principal, unit))
                        if unit.check:
                            savepoint.rollback()
                except DirectoryError as exc:
                    results.append(exc)
            outcomes.append(results)
        if upserts:
            requests = [(command, principal) for _, _, command, principal in upserts]
            answers = authorization.upsert_each(conn, self._operations, requests)
            for (index, place, _, _), answer in zip(upserts, answers, strict=True):
                slot = outcomes[index]
                assert isinstance(slot, list)
                slot[place] = answer if isinstance(answer, DirectoryError) else Receipt([answer])
            changed = [p for answer in answers for p in authorization.password_changes(answer)]
            if changed:
                self._authenticator.password_changed(conn, changed)
        return [_settled(s, o) for s, o in zip(submissions, outcomes, strict=True)]

    def _run(self, conn: Connection, principal: Principal, unit: Unit) -> Receipt:
        """Apply a unit's commands in conn's transaction (the caller's savepoint bounds them)."""
        results = [authorization.execute(conn, self._operations, principal, c) for c in unit.commands]
        changed = [person for result in results for person in authorization.password_changes(result)]
        if changed:
            self._authenticator.password_changed(conn, changed)
        answer = unit.answer.run(Reading(conn, principal)) if unit.answer else None
        return Receipt(results, answer)

    # -- passwords -------------------------------------------------------------------------------------

    async def _hashed(
        self, credential: Credential | Operator, units: Sequence[Unit], *, single: bool
    ) -> tuple[list[Unit], dict[int, DirectoryError]]:
        """units with each password they set replaced by the hash to store, and those refused before the
        write (single: raised instead): a password that breaks the rules, a permission the principal lacks.

        Hashing is heavy CPU work (docs/benchmarks), so it happens before the write's transaction, on worker
        threads, once the credential is known to be good (a stranger gets neither hashing done nor word
        of what is wrong with the password it sent). A password the person already has keeps its stored
        hash: sending it again changes nothing.
        """
        found = [[password_targets(command) for command in unit.commands] for unit in units]
        if not any(targets for unit in found for targets in unit):
            return list(units), {}
        keys = [t.key for unit in found for targets in unit for t in targets if t.key != NEW]
        stored, refused = await self._database.read(lambda conn: self._ahead(conn, credential, units, keys))
        for u, unit_targets in enumerate(found):
            try:
                for targets in unit_targets:
                    for target in targets:
                        self._authenticator.check_password(PASSWORD, target.password.plain)
            except DirectoryError as exc:
                refused.setdefault(u, exc)
        if single and refused:
            raise refused[0]
        wanted = [t for u, unit in enumerate(found) if u not in refused for ts in unit for t in ts]
        hashes = iter(
            await _hash_all(
                self._authenticator.hash_password, [(t.password.plain, stored.get(t.key)) for t in wanted]
            )
        )
        prepared: list[Unit] = []
        for u, unit in enumerate(units):
            if u in refused:
                prepared.append(unit)
                continue
            commands = [
                with_password_hashes(c, hashes) if t else c
                for c, t in zip(unit.commands, found[u], strict=True)
            ]
            prepared.append(replace(unit, commands=commands))
        return prepared, refused

    def _ahead(
        self, conn: Connection, credential: Credential | Operator, units: Sequence[Unit], keys: Sequence[Key]
    ) -> tuple[dict[Key, str | None], dict[int, DirectoryError]]:
        """What is known before hashing: the credential good (Unauthenticated raised otherwise), the units
        whose commands need a permission it lacks (refused, by position), and the hashes stored for keys."""
        principal = self._principal(conn, credential)
        refused: dict[int, DirectoryError] = {}
        for u, unit in enumerate(units):
            try:
                for command in unit.commands:
                    authorization.may_submit(principal, command)
            except DirectoryError as exc:
                refused[u] = exc
        return stored_hashes(conn, keys), refused


_NONE: Mapping[int, DirectoryError] = {}


def _settled(submission: _Submission, outcome: list[Receipt | DirectoryError | None] | DirectoryError) -> Any:
    if isinstance(outcome, DirectoryError) or not submission.single:
        return outcome
    return outcome[0]


#: Looked up once: os.cpu_count() reads a file under /sys at every call.
_CORES = os.cpu_count() or 1


async def _hash_all(
    hash_one: Callable[[str, str | None], str], pairs: list[tuple[str, str | None]]
) -> list[str]:
    """hash_one(password, stored) of each pair on worker threads, as many at once as there are cores."""
    answers: list[str] = [""] * len(pairs)
    limiter = anyio.CapacityLimiter(_CORES)

    async def one(index: int, password: str, stored: str | None) -> None:
        answers[index] = await anyio.to_thread.run_sync(hash_one, password, stored, limiter=limiter)

    async with anyio.create_task_group() as group:
        for index, (password, stored) in enumerate(pairs):
            group.start_soon(one, index, password, stored)
    return answers
