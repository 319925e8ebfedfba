"""Who may touch whom, at the directory's door itself: each command, submitted with a credential, is
checked against its target's scope whatever read (or none) a dialect made first."""

from __future__ import annotations

from typing import Any

import pytest

from provisionhub.directory.access import ApiToken, Permission
from provisionhub.directory.errors import (
    Forbidden,
    Invalid,
    NotFound,
    OutOfScope,
    Reason,
    Rejected,
    Unauthenticated,
)
from provisionhub.directory.group_queries import GroupListing
from provisionhub.directory.groups import ChangeGroup, CreateGroup, DeleteGroup, SetSourceGroups
from provisionhub.directory.memberships import Role, UpsertMember, UpsertMembers
from provisionhub.directory.organisations import OrgKind
from provisionhub.directory.passwords import PASSWORD, Password
from provisionhub.directory.people import (
    Expect,
    SetActive,
    SetStaff,
    SetStatus,
    Status,
    UpdatePerson,
    UpsertPerson,
)
from provisionhub.directory.people_queries import PersonById, UserById
from provisionhub.directory.reference_data import AddLoginSource, AddUserType
from provisionhub.directory.section_items import ChangeSections, EditItem
from tests.conftest import DirectoryUnderTest, MakeToken
from tests.factories import new_organisation, upsert

pytestmark = pytest.mark.anyio

EVERYTHING = [p.value for p in Permission if p is not Permission.ADMIN]


@pytest.fixture
def pushed(directory: DirectoryUnderTest) -> str:
    """A person of login source OPSCOM, with a username."""
    directory.apply(AddLoginSource("OTHER", "Other"), "test")
    return str(directory.apply(upsert("p-1", username="pushed"), "test").public_id)


def other_source(make_token: MakeToken, *permissions: str) -> ApiToken:
    return ApiToken(make_token(*(permissions or EVERYTHING), login_sources=["OTHER"]))


@pytest.mark.parametrize(
    "command",
    [
        lambda p: UpdatePerson(p, {"given_name": "Mallory"}),
        lambda p: SetStatus(p, Status.SUSPENDED),
        lambda p: SetStatus(p, Status.DELETED),
        lambda p: SetActive(p, False),
        lambda p: Expect(p),
        lambda p: SetSourceGroups(p, "OTHER", ["Staff"]),
        lambda p: ChangeSections([EditItem(p, "profile/biography", {"biography": "hacked"})]),
    ],
    ids=["update", "suspend", "delete", "deactivate", "expect", "source-groups", "sections"],
)
async def test_a_command_on_a_person_of_another_source_finds_nobody(
    directory: DirectoryUnderTest, make_token: MakeToken, pushed: str, command: Any
) -> None:
    admin = ApiToken(make_token("admin"))
    before = await directory.read(admin, PersonById(pushed))

    with pytest.raises(OutOfScope):
        await directory.submit(other_source(make_token), [command(pushed)])

    assert await directory.read(admin, PersonById(pushed)) == before


async def test_an_upsert_by_identity_names_the_login_source_it_may_not_write(
    directory: DirectoryUnderTest, make_token: MakeToken, pushed: str
) -> None:
    with pytest.raises(Forbidden, match="login source 'OPSCOM'"):
        await directory.submit(other_source(make_token), [UpsertPerson("OPSCOM", "p-1", {"given_name": "M"})])


async def test_an_account_token_changes_a_member_of_its_account_only(
    directory: DirectoryUnderTest, make_token: MakeToken
) -> None:
    ours, theirs = new_organisation(directory, OrgKind.ACCOUNT), new_organisation(directory, OrgKind.ACCOUNT)
    member = {"account": ours, "role": Role.DISTRICT_ADMIN}
    admin = ApiToken(make_token("admin"))
    made = await directory.submit(
        admin, [UpsertMembers([UpsertMember(None, {"username": "m@x.org"}, member)])]
    )
    mine = made.results[0][0].person.public_id
    elsewhere = ApiToken(make_token(*EVERYTHING, account=theirs))
    here = ApiToken(make_token(*EVERYTHING, account=ours))

    with pytest.raises(NotFound):
        await directory.submit(elsewhere, [UpdatePerson(mine, {"given_name": "Mallory"})])
    changed = await directory.submit(here, [UpdatePerson(mine, {"given_name": "Ada"})])
    with pytest.raises(Forbidden, match="members"):
        await directory.submit(here, [UpsertPerson("MYON", "p-9", {"given_name": "Nobody"})])

    assert changed.results[0].person["given_name"] == "Ada"


async def test_a_staff_members_password_is_an_unscoped_admins_to_set(
    directory: DirectoryUnderTest, make_token: MakeToken, pushed: str
) -> None:
    directory.apply(SetStaff("pushed", True), "test")
    command = UpdatePerson(pushed, {PASSWORD: Password("a-new-password-1")})

    for holder in (make_token("user-update", "user-read"), make_token("admin", login_sources=["OPSCOM"])):
        with pytest.raises(Forbidden, match="staff member's password"):
            await directory.submit(ApiToken(holder), [command])
    done = await directory.submit(ApiToken(make_token("admin")), [command])

    assert "password_hash" in done.results[0].changed


async def test_members_of_another_source_are_not_found_item_by_item(
    directory: DirectoryUnderTest, make_token: MakeToken, pushed: str
) -> None:
    account = new_organisation(directory, OrgKind.ACCOUNT)
    item = UpsertMember(pushed, {"given_name": "Mallory"}, {"account": account, "role": Role.DISTRICT_ADMIN})

    with pytest.raises(Rejected) as refused:
        await directory.submit(other_source(make_token), [UpsertMembers([item])])

    assert [type(e.error) for e in refused.value.errors] == [NotFound]


async def test_a_group_command_touches_no_one_out_of_scope(
    directory: DirectoryUnderTest, make_token: MakeToken, pushed: str
) -> None:
    admin = ApiToken(make_token("admin"))
    group = (await directory.submit(admin, [CreateGroup("All", [pushed])])).results[0].public_id
    mine = other_source(make_token)

    with pytest.raises(Exception, match="no person has the id"):
        await directory.submit(mine, [CreateGroup("Mine", [pushed])])
    with pytest.raises(Forbidden):
        await directory.submit(mine, [ChangeGroup(group, display_name="Renamed")])
    with pytest.raises(Forbidden):
        await directory.submit(mine, [DeleteGroup(group)])
    kept = await directory.submit(mine, [ChangeGroup(group, members=[])])

    assert kept.results[0].members == (pushed,)  # replacing what it sees leaves who it does not


async def _members_of(directory: DirectoryUnderTest, admin: ApiToken, *accounts: str) -> list[str]:
    """A new myON member of each account, in turn (the public ids)."""
    made = []
    for number, account in enumerate(accounts):
        item = UpsertMember(
            None, {"username": f"m{number}@x.org"}, {"account": account, "role": Role.DISTRICT_ADMIN}
        )
        receipt = await directory.submit(admin, [UpsertMembers([item])])
        made.append(receipt.results[0][0].person.public_id)
    return made


async def test_an_account_token_adds_and_keeps_group_members_of_its_account_only(
    directory: DirectoryUnderTest, make_token: MakeToken
) -> None:
    admin = ApiToken(make_token("admin"))
    ours, theirs = new_organisation(directory, OrgKind.ACCOUNT), new_organisation(directory, OrgKind.ACCOUNT)
    first, second, stranger = await _members_of(directory, admin, ours, ours, theirs)
    group = (await directory.submit(admin, [CreateGroup("Mixed", [stranger])])).results[0].public_id
    here = ApiToken(make_token(*EVERYTHING, account=ours))

    for command in (
        ChangeGroup(group, add_members=[stranger]),
        ChangeGroup(group, members=[first], add_members=[stranger]),  # every member it names is checked
        ChangeGroup(group, members=[first], remove_members=[stranger]),
    ):
        with pytest.raises(Invalid) as refused:
            await directory.submit(here, [command])
        assert (refused.value.field, refused.value.reason) == ("members", Reason.UNKNOWN)
    with pytest.raises(Invalid, match="as text"):
        await directory.submit(here, [ChangeGroup(group, members=[1])])  # type: ignore[list-item]
    added = await directory.submit(here, [ChangeGroup(group, add_members=[first])])
    replaced = await directory.submit(here, [ChangeGroup(group, members=[second])])

    assert set(added.results[0].members) == {first, stranger}
    assert set(replaced.results[0].members) == {second, stranger}  # the member it cannot see stays


async def test_an_account_token_reads_a_group_only_if_it_sees_every_member(
    directory: DirectoryUnderTest, make_token: MakeToken
) -> None:
    admin = ApiToken(make_token("admin"))
    ours, theirs = new_organisation(directory, OrgKind.ACCOUNT), new_organisation(directory, OrgKind.ACCOUNT)
    members = await _members_of(directory, admin, ours, theirs)
    created = await directory.submit(admin, [CreateGroup("Ours", members[:1]), CreateGroup("Both", members)])
    mine, both = (result.public_id for result in created.results)
    here = ApiToken(make_token(*EVERYTHING, account=ours))

    seen = await directory.read(here, GroupListing(public_ids=(mine,)))
    with pytest.raises(OutOfScope):  # UNIWeb refuses such a read whole
        await directory.read(here, GroupListing(public_ids=(both,)))

    assert [[member.public_id for member in group.members] for group in seen] == [members[:1]]


async def test_catalogues_and_staff_are_an_unscoped_admins(
    directory: DirectoryUnderTest, make_token: MakeToken, pushed: str
) -> None:
    for holder in (make_token(*EVERYTHING), make_token("admin", login_sources=["OPSCOM"])):
        for command in (AddUserType("7", "Seven"), SetStaff("pushed", True)):
            with pytest.raises(Forbidden, match="unscoped admin"):
                await directory.submit(ApiToken(holder), [command])
    await directory.submit(ApiToken(make_token("admin")), [AddUserType("7", "Seven")])


async def test_reads_find_nobody_of_another_source(
    directory: DirectoryUnderTest, make_token: MakeToken, pushed: str
) -> None:
    mine = other_source(make_token)

    for query in (UserById(pushed, "SCIM"), PersonById(pushed)):
        with pytest.raises(NotFound):
            await directory.read(mine, query)


async def test_an_unknown_credential_is_refused_before_anything_is_asked(
    directory: DirectoryUnderTest, pushed: str
) -> None:
    with pytest.raises(Unauthenticated):
        await directory.submit(ApiToken("ph-unknown"), [UpdatePerson(pushed, {"given_name": "M"})])
    with pytest.raises(Unauthenticated):
        await directory.read(ApiToken("ph-unknown"), PersonById(pushed))
