"""provisionhub itself as a principal: the command line, the lifecycle, a first start. An operator is no
credential a request can present: only code that runs provisionhub (not a dialect: the import contract
forbids it) names one."""

from __future__ import annotations

from dataclasses import dataclass

from provisionhub.directory.access import Kind, Permission, Principal


@dataclass(frozen=True, slots=True)
class Operator:
    """provisionhub itself, as name (the change log's actor: cli, lifecycle, serve)."""

    name: str

    @property
    def principal(self) -> Principal:
        return Principal(self.name, frozenset({Permission.ADMIN}), kind=Kind.OPERATOR)
