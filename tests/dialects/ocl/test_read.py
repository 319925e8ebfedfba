"""Reading OCL users over HTTP: one user, oneself, the list (search, sort, pages), privacy and inactivity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from provisionhub.directory.memberships import Role, UpsertMember
from provisionhub.directory.organisations import OrgKind
from provisionhub.directory.people import SetStatus, Status, UpsertPerson
from provisionhub.directory.people_search import NAME, full_name
from provisionhub.directory.reference_data import AddLoginSource
from provisionhub.directory.service import Directory
from provisionhub.store import tables
from tests.conftest import MakeToken
from tests.dialects.ocl.conftest import MakeMember, Member
from tests.factories import new_organisation, opscom_push

pytestmark = pytest.mark.anyio

#: A login source whose people need no username.
SSO = AddLoginSource("SSO", "Single sign-on", requires_username=False)

#: The seed's full representation, key for key, in its order.
SEED_KEYS = [
    "type",
    "uuid",
    "username",
    "name",
    "company",
    "location",
    "email",
    "preferredLocale",
    "url",
    "collections_url",
    "sources_url",
    "orgs_url",
    "orgs",
    "publicCollections",
    "publicSources",
    "starredCollections",
    "starredConcepts",
    "starredSources",
    "createdOn",
    "updatedOn",
]


async def test_a_user_is_shown_in_the_seeds_representation(
    client: httpx.AsyncClient, make_member: MakeMember, member: Member
) -> None:
    johndoe = make_member(
        username="johndoe",
        display_name="John Doe",
        company="My Company",
        location="Kenya",
        preferred_locale="en",
    )

    answer = await client.get("/ocl/users/johndoe/", headers=member.basic)

    assert answer.status_code == 200
    body = answer.json()
    assert list(body) == SEED_KEYS
    assert body["type"] == "User"
    assert body["uuid"] == johndoe.public_id
    assert (body["username"], body["name"], body["company"], body["location"]) == (
        "johndoe",
        "John Doe",
        "My Company",
        "Kenya",
    )
    assert body["preferredLocale"] == "en"
    assert body["url"] == "/ocl/users/johndoe/"
    assert body["collections_url"] == "/ocl/users/johndoe/collections/"
    assert body["sources_url"] == "/ocl/users/johndoe/sources/"
    assert body["orgs_url"] == "/ocl/users/johndoe/orgs/"
    for counter in SEED_KEYS[12:18]:
        assert body[counter] == 0
    created = datetime.strptime(body["createdOn"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - created) < timedelta(minutes=5)
    assert body["updatedOn"] == body["createdOn"]


async def test_email_is_private_to_the_user_and_staff(
    client: httpx.AsyncClient, make_member: MakeMember, member: Member, staff: Member
) -> None:
    other = make_member()

    as_other = (await client.get(f"/ocl/users/{member.username}", headers=other.basic)).json()
    as_self = (await client.get(f"/ocl/users/{member.username}", headers=member.basic)).json()
    as_staff = (await client.get(f"/ocl/users/{member.username}", headers=staff.basic)).json()

    assert as_other["email"] is None
    assert as_self["email"] == member.email
    assert as_staff["email"] == member.email


async def test_get_user_is_the_authenticated_user_with_their_email(
    client: httpx.AsyncClient, member: Member
) -> None:
    answer = await client.get("/ocl/user", headers=member.basic)

    assert answer.status_code == 200
    assert list(answer.json()) == SEED_KEYS
    assert answer.json()["uuid"] == member.public_id
    assert answer.json()["email"] == member.email


async def test_usernames_are_found_whatever_their_case(client: httpx.AsyncClient, member: Member) -> None:
    answer = await client.get(f"/ocl/users/{member.username.upper()}/", headers=member.basic)

    assert answer.status_code == 200
    assert answer.json()["username"] == member.username


async def test_an_unknown_or_deactivated_user_is_404_and_staff_may_ask_for_inactive_ones(
    client: httpx.AsyncClient, make_member: MakeMember, member: Member, staff: Member, directory: Directory
) -> None:
    gone = make_member()
    directory.apply(SetStatus(gone.public_id, Status.DELETED), "test")

    unknown = await client.get("/ocl/users/nobody/", headers=member.basic)
    deactivated = await client.get(f"/ocl/users/{gone.username}/", headers=member.basic)
    by_staff = await client.get(f"/ocl/users/{gone.username}/?includeInactive=true", headers=staff.basic)
    not_staff = await client.get(f"/ocl/users/{gone.username}/?includeInactive=true", headers=member.basic)

    assert unknown.status_code == 404
    assert unknown.json() == {"detail": "Not found."}
    assert deactivated.status_code == 404
    assert by_staff.status_code == 200
    assert by_staff.json()["uuid"] == gone.public_id
    assert not_staff.status_code == 403


async def test_a_person_pushed_by_opscom_is_an_ocl_user_with_the_same_uuid(
    client: httpx.AsyncClient, make_token: MakeToken, member: Member, directory: Directory
) -> None:
    pusher = make_token("user-create", "user-update")
    pushed = await client.post(
        "/opscom/api/OC_TOMA/v1/profiles/push",
        json=opscom_push(pusher, user_name="ghopper", first_name="Grace", last_name="Hopper"),
    )
    assert pushed.json()["status"] == "success", pushed.text

    answer = await client.get("/ocl/users/ghopper", headers=member.basic)

    assert answer.status_code == 200
    body = answer.json()
    assert body["name"] == "Grace Hopper"  # no display name: given and family names
    found = (await client.get("/ocl/users?q=hopper", headers=member.basic)).json()
    assert [row["username"] for row in found] == ["ghopper"]
    with directory.database.snapshot() as conn:
        pushed_id = conn.execute(
            select(tables.people.c.public_id).where(tables.people.c.id == pushed.json()["reference_id"])
        ).scalar_one()
    assert body["uuid"] == pushed_id


async def test_orgs_counts_the_accounts_a_person_belongs_to(
    client: httpx.AsyncClient, directory: Directory, member: Member
) -> None:
    account = new_organisation(directory, OrgKind.ACCOUNT)
    with directory.database.transaction() as conn:
        directory.upsert_members(
            conn,
            [
                UpsertMember(
                    person={"username": "admin@district.example.org"},
                    membership={"account": account, "role": Role.DISTRICT_ADMIN},
                )
            ],
            "test",
        )

    answer = await client.get("/ocl/users/admin@district.example.org/", headers=member.basic)

    assert answer.status_code == 200
    assert answer.json()["orgs"] == 1


# -- the list ---------------------------------------------------------------------------------------


async def test_the_list_gives_active_users_as_rows_in_creation_order(
    client: httpx.AsyncClient, make_member: MakeMember, member: Member, directory: Directory
) -> None:
    first, second, gone = make_member(), make_member(), make_member()
    directory.apply(SetStatus(gone.public_id, Status.SUSPENDED), "test")

    answer = await client.get("/ocl/users/", headers=member.basic)

    assert answer.status_code == 200
    assert answer.json() == [
        {
            "username": m.username,
            "name": f"Member {m.username.removeprefix('member')}",
            "url": f"/ocl/users/{m.username}/",
        }
        for m in (member, first, second)
    ]
    assert answer.headers["num_found"] == "3"
    assert answer.headers["num_returned"] == "3"
    assert "next" not in answer.headers
    assert "previous" not in answer.headers


async def test_people_without_a_username_are_not_listed(
    client: httpx.AsyncClient, member: Member, directory: Directory
) -> None:
    directory.apply(SSO, "test")
    directory.apply(UpsertPerson("SSO", "no-username", {"given_name": "Anon"}), "test")

    rows = (await client.get("/ocl/users", headers=member.basic)).json()

    assert [row["username"] for row in rows] == [member.username]


async def test_staff_may_list_inactive_users_too(
    client: httpx.AsyncClient, make_member: MakeMember, staff: Member, member: Member, directory: Directory
) -> None:
    gone = make_member()
    directory.apply(SetStatus(gone.public_id, Status.DELETED), "test")

    by_staff = await client.get("/ocl/users?includeInactive=True", headers=staff.basic)
    by_member = await client.get("/ocl/users?includeInactive=1", headers=member.basic)

    assert [row["username"] for row in by_staff.json()] == [staff.username, member.username, gone.username]
    assert by_member.status_code == 403


async def test_q_searches_username_name_company_and_location_case_insensitively(
    client: httpx.AsyncClient, make_member: MakeMember, member: Member
) -> None:
    by_username = make_member(username="zanzibar-fan")
    by_name = make_member(display_name="Ada ZANZIBAR")
    by_company = make_member(company="Zanzibar Ltd")
    by_location = make_member(location="Stone Town, Zanzibar")
    make_member(company="Elsewhere")

    answer = await client.get("/ocl/users", params={"q": "zanZIBar"}, headers=member.basic)

    assert [row["username"] for row in answer.json()] == [
        m.username for m in (by_username, by_name, by_company, by_location)
    ]
    assert answer.headers["num_found"] == "4"


async def test_q_takes_like_wildcards_literally(
    client: httpx.AsyncClient, make_member: MakeMember, member: Member
) -> None:
    make_member(company="100% Cotton")
    make_member(company="1000 Cotton")

    answer = await client.get("/ocl/users", params={"q": "100%"}, headers=member.basic)

    assert [row["name"] for row in answer.json()] == [answer.json()[0]["name"]]
    assert answer.headers["num_found"] == "1"


async def test_sorting_by_username_name_and_creation(
    client: httpx.AsyncClient, make_member: MakeMember, member: Member
) -> None:
    carol = make_member(username="carol", display_name="Alpha")
    make_member(username="Alice", display_name="charlie")
    make_member(username="bob", display_name=None, given_name="Bravo", family_name="Zulu")

    async def usernames(**params: str) -> list[str]:
        answer = await client.get("/ocl/users", params=params, headers=carol.basic)
        assert answer.status_code == 200, answer.text
        return [row["username"] for row in answer.json() if row["username"] != member.username]

    assert await usernames(sortAsc="username") == ["Alice", "bob", "carol"]
    assert await usernames(sortDesc="username") == ["carol", "bob", "Alice"]
    assert await usernames(sortAsc="name") == ["carol", "bob", "Alice"]  # Alpha, Bravo Zulu, charlie
    assert await usernames(sortDesc="createdOn") == ["bob", "Alice", "carol"]
    assert await usernames(sortAsc="dateJoined") == ["carol", "Alice", "bob"]
    assert await usernames() == ["carol", "Alice", "bob"]


async def test_pages_carry_the_counts_and_links(
    client: httpx.AsyncClient, make_member: MakeMember, member: Member
) -> None:
    for _ in range(4):
        make_member()  # five users in all

    first = await client.get("/ocl/users?limit=2", headers=member.basic)
    second = await client.get(first.headers["next"], headers=member.basic)
    last = await client.get("/ocl/users?limit=2&page=3", headers=member.basic)
    beyond = await client.get("/ocl/users?limit=2&page=9", headers=member.basic)

    assert (first.headers["num_found"], first.headers["num_returned"]) == ("5", "2")
    assert "previous" not in first.headers
    assert first.headers["next"].endswith("/ocl/users?limit=2&page=2")
    assert second.headers["previous"].endswith("page=1")
    assert second.headers["next"].endswith("page=3")
    assert len(last.json()) == 1
    assert "next" not in last.headers
    every = [row["username"] for page in (first, second, last) for row in page.json()]
    assert len(set(every)) == 5
    assert beyond.json() == []
    assert beyond.headers["num_returned"] == "0"


async def test_the_default_page_is_ten_and_no_page_is_over_a_hundred(
    client: httpx.AsyncClient, make_member: MakeMember, member: Member
) -> None:
    for _ in range(11):
        make_member()

    default = await client.get("/ocl/users", headers=member.basic)
    huge = await client.get("/ocl/users?limit=5000", headers=member.basic)

    assert len(default.json()) == 10
    assert default.headers["num_found"] == "12"
    assert len(huge.json()) == 12  # clamped to 100, which holds all twelve


async def test_verbose_rows_are_full_representations(
    client: httpx.AsyncClient, make_member: MakeMember, member: Member
) -> None:
    other = make_member()

    rows = (await client.get("/ocl/users?verbose=true", headers=member.basic)).json()

    assert [list(row) for row in rows] == [SEED_KEYS, SEED_KEYS]
    assert [row["email"] for row in rows] == [member.email, None]  # others' emails stay private
    assert rows[1]["uuid"] == other.public_id


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=ten", "limit"),
        ("limit=0", "limit"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=99999999999999999999", "page"),  # beyond any offset a database takes
        ("sortAsc=email", "sortAsc"),
        ("sortDesc=password_hash", "sortDesc"),
        ("sortAsc=name&sortDesc=name", "sortDesc"),
    ],
)
async def test_bad_list_parameters_are_400_naming_the_parameter(
    client: httpx.AsyncClient, member: Member, query: str, field: str
) -> None:
    answer = await client.get(f"/ocl/users?{query}", headers=member.basic)

    assert answer.status_code == 400
    assert list(answer.json()) == [field]


async def test_the_sql_name_and_the_shown_name_agree(directory: Directory) -> None:
    cases = [
        {"display_name": "Shown", "given_name": "G", "family_name": "F"},
        {"display_name": None, "given_name": "Given", "family_name": "Family"},
        {"display_name": None, "given_name": None, "family_name": "Family"},
        {"display_name": None, "given_name": "Given", "family_name": None},
        {"display_name": None, "given_name": None, "family_name": None},
    ]
    directory.apply(SSO, "test")
    with directory.database.transaction() as conn:
        for n, fields in enumerate(cases):
            directory.upsert_person(conn, UpsertPerson("SSO", f"name-{n}", fields), "test")
        rows = conn.execute(
            select(tables.people, NAME.label("sql_name")).order_by(tables.people.c.id)
        ).mappings()
        pairs = [(row["sql_name"], full_name(row)) for row in rows]

    assert [sql for sql, _ in pairs] == ["Shown", "Given Family", "Family", "Given", None]
    assert all(sql == python for sql, python in pairs)


async def test_a_username_a_path_cannot_hold_as_it_is_is_percent_encoded_in_urls(
    client: httpx.AsyncClient, make_member: MakeMember, member: Member
) -> None:
    make_member(username="zoë smith+admin@example.org")  # as another dialect may have given it

    [row] = (await client.get("/ocl/users", params={"q": "zoë"}, headers=member.basic)).json()
    fetched = await client.get(row["url"], headers=member.basic)

    assert row["url"] == "/ocl/users/zo%C3%AB%20smith+admin@example.org/"
    assert fetched.status_code == 200
    assert fetched.json()["username"] == "zoë smith+admin@example.org"
