"""Writing OCL users over HTTP: create, update (self and by staff), deactivate, reactivate, bad input."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from provisionhub.auth.passwords import verify_password
from provisionhub.directory.changes import list_changes
from provisionhub.directory.people import SetStatus, Status, UpdatePerson
from provisionhub.directory.service import Directory, utcnow
from provisionhub.store import tables
from provisionhub.store.database import Database
from tests.conftest import MakeToken, count_rows, outbox_events
from tests.dialects.ocl.conftest import MakeMember, Member, basic, key_auth
from tests.factories import opscom_push

pytestmark = pytest.mark.anyio

#: The seed's "Create new user" input, verbatim.
SEED_CREATE = {
    "username": "johnnydoe",
    "name": "Johnny Doe",
    "email": "jdoe@me.com",
    "company": "My New Company",
    "location": "Eldoret, Kenya",
    "preferredLocale": "en,sw",
}
#: The seed's partial update input (of the authenticated user, and of a user by staff), verbatim.
SEED_UPDATE = {
    "name": "Johnny Doe",
    "email": "jdoe@me.com",
    "company": "My New Company",
    "location": "Eldoret, Kenya",
    "preferredLocale": "en,sw",
}


def _row(database: Database, public_id: str) -> dict[str, Any]:
    with database.snapshot() as conn:
        return dict(
            conn.execute(select(tables.people).where(tables.people.c.public_id == public_id)).mappings().one()
        )


# -- create ------------------------------------------------------------------------------------------


async def test_staff_create_a_user_from_the_seeds_body(
    client: httpx.AsyncClient, staff: Member, database: Database
) -> None:
    answer = await client.post("/ocl/users/", headers=staff.basic, json=SEED_CREATE)

    assert answer.status_code == 201
    body = answer.json()
    assert answer.headers["Location"] == "http://testserver/ocl/users/johnnydoe/"
    assert {k: body[k] for k in ("username", "name", "email", "company", "location", "preferredLocale")} == {
        **SEED_CREATE
    }
    assert body["url"] == "/ocl/users/johnnydoe/"
    row = _row(database, body["uuid"])
    assert (row["login_source"], row["unique_id"]) == ("OCL", body["uuid"])
    assert row["display_name"] == "Johnny Doe"
    assert row["password_hash"] is None
    fetched = await client.get("/ocl/users/johnnydoe", headers=staff.basic)
    assert fetched.json() == body


async def test_a_created_user_lands_in_the_change_log_and_the_outbox(
    client: httpx.AsyncClient, staff: Member, database: Database
) -> None:
    body = (await client.post("/ocl/users", headers=staff.basic, json=SEED_CREATE)).json()

    with database.snapshot() as conn:
        [change] = list_changes(conn, entity_type="person", entity_id=body["uuid"])
    assert change.action == "create"
    assert change.actor == f"person:{staff.username}"
    assert change.fields["username"] == [None, "johnnydoe"]
    assert outbox_events(database, body["uuid"]) == ["added"]


async def test_a_user_created_with_a_password_signs_in_with_it(
    client: httpx.AsyncClient, staff: Member, database: Database
) -> None:
    created = await client.post(
        "/ocl/users", headers=staff.basic, json={**SEED_CREATE, "password": "johnny's passphrase"}
    )

    assert created.status_code == 201
    assert "password" not in created.json()
    assert verify_password(_row(database, created.json()["uuid"])["password_hash"], "johnny's passphrase")
    signed_in = await client.post(
        "/ocl/users/login/", json={"username": "johnnydoe", "password": "johnny's passphrase"}
    )
    assert signed_in.status_code == 200
    with database.snapshot() as conn:
        [change] = list_changes(conn, entity_type="person", entity_id=created.json()["uuid"])
    assert change.fields["password_hash"] == [None, "***"]


async def test_the_other_real_ocls_field_names_are_accepted(client: httpx.AsyncClient, staff: Member) -> None:
    body = {
        "username": "v2.user",
        "email": "v2.user@example.org",
        "first_name": "Vera",
        "last_name": "Two",
        "preferred_locale": "fr, en-US",
    }

    answer = await client.post("/ocl/users", headers=staff.basic, json=body)

    assert answer.status_code == 201
    assert answer.json()["name"] == "Vera Two"
    assert answer.json()["preferredLocale"] == "fr,en-US"


async def test_an_api_token_with_user_create_may_create_and_is_the_actor(
    client: httpx.AsyncClient, make_token: MakeToken, database: Database
) -> None:
    token = make_token("user-create", name="sis")

    answer = await client.post("/ocl/users", headers=key_auth(token), json=SEED_CREATE)

    assert answer.status_code == 201
    with database.snapshot() as conn:
        [change] = list_changes(conn, entity_type="person", entity_id=answer.json()["uuid"])
    assert change.actor == "token:sis"


async def test_a_token_limited_to_other_login_sources_may_not_create(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    token = make_token("user-create", login_sources=["OPSCOM"])

    answer = await client.post("/ocl/users", headers=key_auth(token), json=SEED_CREATE)

    assert answer.status_code == 403


async def test_non_staff_may_not_create(
    client: httpx.AsyncClient, member: Member, database: Database
) -> None:
    before = count_rows(database, tables.people)

    answer = await client.post("/ocl/users", headers=member.basic, json=SEED_CREATE)

    assert answer.status_code == 403
    assert answer.json() == {"detail": "You do not have permission to perform this action."}
    assert count_rows(database, tables.people) == before


async def test_a_taken_username_says_whether_its_holder_is_active_or_deactivated(
    client: httpx.AsyncClient, staff: Member, make_member: MakeMember, directory: Directory
) -> None:
    active = make_member()
    gone = make_member()
    directory.apply(SetStatus(gone.public_id, Status.DELETED), "test")

    taken = await client.post(
        "/ocl/users", headers=staff.basic, json={**SEED_CREATE, "username": active.username}
    )
    deactivated = await client.post(
        "/ocl/users", headers=staff.basic, json={**SEED_CREATE, "username": gone.username.upper()}
    )

    assert taken.status_code == 400
    [message] = taken.json()["username"]
    assert "already exists and is active" in message
    assert deactivated.status_code == 400
    [message] = deactivated.json()["username"]
    assert "already exists and is deactivated" in message
    assert f"PUT /ocl/users/{gone.username}/reactivate/" in message


async def test_a_username_opscom_holds_is_taken_for_ocl_too(
    client: httpx.AsyncClient, staff: Member, make_token: MakeToken
) -> None:
    pusher = make_token("user-create")
    await client.post("/opscom/api/OC_TOMA/v1/profiles/push", json=opscom_push(pusher, user_name="johnnydoe"))

    answer = await client.post("/ocl/users", headers=staff.basic, json=SEED_CREATE)

    assert answer.status_code == 400
    assert "already exists" in answer.json()["username"][0]


async def test_a_taken_email_is_400_on_email(
    client: httpx.AsyncClient, staff: Member, member: Member, database: Database
) -> None:
    before = count_rows(database, tables.people)

    answer = await client.post("/ocl/users", headers=staff.basic, json={**SEED_CREATE, "email": member.email})

    assert answer.status_code == 400
    assert "already taken" in answer.json()["email"][0]
    assert count_rows(database, tables.people) == before


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"username": None}, "username", "This field may not be null."),
        ({"username": "john doe"}, "username", "Enter a valid username"),
        ({"username": "j@hn"}, "username", "Enter a valid username"),
        ({"username": 42}, "username", "Not a valid string."),
        ({"username": "x" * 256}, "username", "no more than 255 characters"),
        ({"email": "not-an-email"}, "email", "email is not a valid email address"),
        ({"email": None}, "email", "This field may not be null."),
        ({"email": ""}, "email", "This field may not be blank."),
        ({"email": ["a@b.org"]}, "email", "email must be text"),
        ({"name": 3}, "name", "name must be text"),
        ({"name": "N" * 256}, "name", "name must be at most 255 characters"),
        ({"company": {"a": 1}}, "company", "company must be text"),
        ({"location": "L" * 256}, "location", "location must be at most 255 characters"),
        ({"preferredLocale": "en,xx"}, "preferredLocale", "'xx' is not a locale"),
        ({"preferredLocale": "en,,sw"}, "preferredLocale", "'' is not a locale"),
        ({"preferredLocale": "english"}, "preferredLocale", "'english' is not a locale"),
        ({"preferredLocale": 1}, "preferredLocale", "Not a valid string."),
        ({"preferred_locale": "en"}, "preferred_locale", "preferred_locale and preferredLocale are the same"),
        ({"password": "short"}, "password", "at least 8 characters"),
        ({"hashed_password": "pbkdf2_sha256$..."}, "hashed_password", "send password"),
        ({"extras": {}}, "extras", "not kept"),
        ({"favourite_colour": "blue"}, "favourite_colour", "not a field of an OCL user"),
    ],
)
async def test_bad_fields_on_create_are_400_naming_the_field_and_nothing_is_written(
    client: httpx.AsyncClient,
    staff: Member,
    database: Database,
    change: dict[str, Any],
    field: str,
    message: str,
) -> None:
    before = (count_rows(database, tables.people), count_rows(database, tables.changes))

    answer = await client.post("/ocl/users", headers=staff.basic, json={**SEED_CREATE, **change})

    assert answer.status_code == 400
    assert list(answer.json()) == [field]
    assert message in answer.json()[field][0]
    assert (count_rows(database, tables.people), count_rows(database, tables.changes)) == before


async def test_every_bad_field_is_named_at_once(client: httpx.AsyncClient, staff: Member) -> None:
    answer = await client.post(
        "/ocl/users", headers=staff.basic, json={"username": "a b", "name": 1, "preferredLocale": "zz"}
    )

    assert answer.status_code == 400
    assert set(answer.json()) == {"username", "name", "preferredLocale", "email"}
    assert answer.json()["email"] == ["This field is required."]


async def test_username_and_email_are_required_to_create(client: httpx.AsyncClient, staff: Member) -> None:
    answer = await client.post("/ocl/users", headers=staff.basic, json={"name": "Nameless"})

    assert answer.status_code == 400
    assert answer.json() == {"username": ["This field is required."], "email": ["This field is required."]}


@pytest.mark.parametrize(
    ("content", "key"),
    [
        (b"{not json", "detail"),
        (b"", "detail"),
        (b'["a", "list"]', "non_field_errors"),
        (b'"text"', "non_field_errors"),
    ],
)
async def test_bodies_that_are_not_json_objects_are_400(
    client: httpx.AsyncClient, staff: Member, content: bytes, key: str
) -> None:
    headers = {**staff.basic, "Content-Type": "application/json"}

    answer = await client.post("/ocl/users", headers=headers, content=content)

    assert answer.status_code == 400
    assert list(answer.json()) == [key]


async def test_an_oversized_body_is_413(client: httpx.AsyncClient, staff: Member) -> None:
    answer = await client.post("/ocl/users", headers=staff.basic, json={**SEED_CREATE, "name": "x" * 100_000})

    assert answer.status_code == 413
    assert "detail" in answer.json()


# -- update --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PUT"])
async def test_a_user_updates_themselves_with_the_seeds_body(
    client: httpx.AsyncClient, member: Member, database: Database, method: str
) -> None:
    answer = await client.request(method, "/ocl/user/", headers=member.basic, json=SEED_UPDATE)

    assert answer.status_code == 200
    body = answer.json()
    assert {k: body[k] for k in SEED_UPDATE} == SEED_UPDATE
    assert body["uuid"] == member.public_id
    assert _row(database, member.public_id)["email"] == "jdoe@me.com"


async def test_only_the_fields_sent_change_and_null_clears_an_optional_one(
    client: httpx.AsyncClient, make_member: MakeMember, database: Database
) -> None:
    member = make_member(company="Old Co", location="Nairobi")

    answer = await client.post("/ocl/user", headers=member.basic, json={"company": None})

    assert answer.json()["company"] is None
    row = _row(database, member.public_id)
    assert (row["company"], row["location"], row["email"]) == (None, "Nairobi", member.email)


async def test_sending_back_a_representation_changes_only_what_differs(
    client: httpx.AsyncClient, member: Member, database: Database
) -> None:
    shown = (await client.get("/ocl/user", headers=member.basic)).json()
    before = count_rows(database, tables.changes)

    again = await client.put("/ocl/user", headers=member.basic, json=shown)
    renamed = await client.put("/ocl/user", headers=member.basic, json={**shown, "location": "Eldoret"})

    assert again.status_code == 200
    assert again.json() == shown
    assert renamed.json()["location"] == "Eldoret"
    assert count_rows(database, tables.changes) == before + 1


async def test_a_username_cannot_be_changed(client: httpx.AsyncClient, member: Member) -> None:
    answer = await client.post("/ocl/user", headers=member.basic, json={"username": "someone-else"})

    assert answer.status_code == 400
    assert answer.json() == {"username": ["A username cannot be changed."]}


@pytest.mark.parametrize("method", ["POST", "PUT"])
async def test_staff_update_anyone_with_the_seeds_body(
    client: httpx.AsyncClient, staff: Member, member: Member, database: Database, method: str
) -> None:
    answer = await client.request(
        method, f"/ocl/users/{member.username}", headers=staff.basic, json=SEED_UPDATE
    )

    assert answer.status_code == 200
    assert answer.json()["company"] == "My New Company"
    with database.snapshot() as conn:
        changes = list_changes(conn, entity_type="person", entity_id=member.public_id)
    assert changes[-1].actor == f"person:{staff.username}"
    assert outbox_events(database, member.public_id) == ["added", "edited"]


async def test_a_user_may_update_themselves_by_name_but_not_others(
    client: httpx.AsyncClient, member: Member, make_member: MakeMember
) -> None:
    other = make_member()

    mine = await client.post(
        f"/ocl/users/{member.username}/", headers=member.basic, json={"location": "Kisumu"}
    )
    theirs = await client.post(
        f"/ocl/users/{other.username}/", headers=member.basic, json={"location": "Kisumu"}
    )

    assert mine.status_code == 200
    assert theirs.status_code == 403


async def test_updating_an_unknown_or_deactivated_user_is_404(
    client: httpx.AsyncClient, staff: Member, make_member: MakeMember, directory: Directory
) -> None:
    gone = make_member()
    directory.apply(SetStatus(gone.public_id, Status.DELETED), "test")

    assert (await client.put("/ocl/users/nobody/", headers=staff.basic, json={})).status_code == 404
    assert (await client.put(f"/ocl/users/{gone.username}/", headers=staff.basic, json={})).status_code == 404


async def test_bad_fields_on_update_are_400_and_nothing_changes(
    client: httpx.AsyncClient, member: Member, database: Database
) -> None:
    before = _row(database, member.public_id)

    answer = await client.post(
        "/ocl/user",
        headers=member.basic,
        json={"company": "Fine Co", "email": "broken@", "preferredLocale": "en"},
    )

    assert answer.status_code == 400
    assert list(answer.json()) == ["email"]
    assert _row(database, member.public_id) == before


async def test_an_update_that_takes_anothers_email_is_400(
    client: httpx.AsyncClient, member: Member, make_member: MakeMember
) -> None:
    other = make_member()

    answer = await client.post("/ocl/user", headers=member.basic, json={"email": other.email.upper()})

    assert answer.status_code == 400
    assert list(answer.json()) == ["email"]


async def test_staff_reset_a_password_and_the_old_one_stops_working(
    client: httpx.AsyncClient, staff: Member, member: Member
) -> None:
    answer = await client.post(
        f"/ocl/users/{member.username}", headers=staff.basic, json={"password": "reset by staff 1"}
    )

    assert answer.status_code == 200
    assert (await client.get("/ocl/user", headers=member.basic)).status_code == 401
    assert (
        await client.get("/ocl/user", headers=basic(member.username, "reset by staff 1"))
    ).status_code == 200


# -- deactivate and reactivate ---------------------------------------------------------------------------


async def test_staff_deactivate_a_user_who_then_disappears_but_is_not_erased(
    client: httpx.AsyncClient, staff: Member, member: Member, database: Database
) -> None:
    answer = await client.delete(f"/ocl/users/{member.username}/", headers=staff.basic)

    assert answer.status_code == 204
    assert answer.content == b""
    assert _row(database, member.public_id)["status"] == "deleted"
    assert (await client.get(f"/ocl/users/{member.username}", headers=staff.basic)).status_code == 404
    listed = (await client.get("/ocl/users", headers=staff.basic)).json()
    assert member.username not in [row["username"] for row in listed]
    with database.snapshot() as conn:
        change = list_changes(conn, entity_type="person", entity_id=member.public_id)[-1]
    assert change.fields == {"status": ["active", "deleted"]}
    assert outbox_events(database, member.public_id) == ["added", "deleted"]


async def test_deactivating_an_already_deactivated_user_is_404(
    client: httpx.AsyncClient, staff: Member, member: Member
) -> None:
    await client.delete(f"/ocl/users/{member.username}", headers=staff.basic)

    again = await client.delete(f"/ocl/users/{member.username}", headers=staff.basic)

    assert again.status_code == 404


async def test_nobody_deactivates_themselves(
    client: httpx.AsyncClient, staff: Member, database: Database
) -> None:
    by_name = await client.delete(f"/ocl/users/{staff.username}/", headers=staff.basic)
    as_self = await client.delete("/ocl/user/", headers=staff.basic)

    assert by_name.status_code == 405
    assert as_self.status_code == 405
    assert "detail" in by_name.json()
    assert _row(database, staff.public_id)["status"] == "active"


async def test_non_staff_may_not_deactivate(
    client: httpx.AsyncClient, member: Member, make_member: MakeMember
) -> None:
    other = make_member()

    answer = await client.delete(f"/ocl/users/{other.username}", headers=member.basic)

    assert answer.status_code == 403


async def test_hard_delete_is_refused(
    client: httpx.AsyncClient, staff: Member, member: Member, database: Database
) -> None:
    answer = await client.delete(f"/ocl/users/{member.username}?hardDelete=true", headers=staff.basic)

    assert answer.status_code == 400
    assert _row(database, member.public_id)["status"] == "active"


async def test_staff_reactivate_a_deactivated_user(
    client: httpx.AsyncClient, staff: Member, member: Member, database: Database
) -> None:
    await client.delete(f"/ocl/users/{member.username}", headers=staff.basic)

    answer = await client.put(f"/ocl/users/{member.username}/reactivate/", headers=staff.basic)

    assert answer.status_code == 204
    assert _row(database, member.public_id)["status"] == "active"
    assert (await client.get("/ocl/user", headers=member.basic)).status_code == 200
    with database.snapshot() as conn:
        change = list_changes(conn, entity_type="person", entity_id=member.public_id)[-1]
    assert change.fields == {"status": ["deleted", "active"]}


async def test_reactivating_a_user_whose_validity_window_has_ended_is_400_and_writes_nothing(
    client: httpx.AsyncClient, staff: Member, member: Member, directory: Directory, database: Database
) -> None:
    await client.delete(f"/ocl/users/{member.username}", headers=staff.basic)
    directory.apply(UpdatePerson(member.public_id, {"valid_through": utcnow() - timedelta(days=1)}), "sis")
    before = count_rows(database, tables.changes)

    answer = await client.put(f"/ocl/users/{member.username}/reactivate/", headers=staff.basic)

    assert answer.status_code == 400
    assert answer.json() == {
        "detail": "User cannot be reactivated: their validity window makes them expired."
    }
    assert _row(database, member.public_id)["status"] == "deleted"
    assert count_rows(database, tables.changes) == before


async def test_reactivating_an_active_or_unknown_user_is_404_and_non_staff_403(
    client: httpx.AsyncClient, staff: Member, member: Member, make_member: MakeMember, directory: Directory
) -> None:
    gone = make_member()
    directory.apply(SetStatus(gone.public_id, Status.DELETED), "test")

    active = await client.put(f"/ocl/users/{member.username}/reactivate", headers=staff.basic)
    unknown = await client.put("/ocl/users/nobody/reactivate", headers=staff.basic)
    by_member = await client.put(f"/ocl/users/{gone.username}/reactivate", headers=member.basic)

    assert active.status_code == 404
    assert unknown.status_code == 404
    assert by_member.status_code == 403


async def test_tokens_deactivate_with_user_delete_and_reactivate_with_user_update(
    client: httpx.AsyncClient, make_token: MakeToken, member: Member
) -> None:
    reader = key_auth(make_token("user-read", "user-update"))
    deleter = key_auth(make_token("user-delete"))

    refused = await client.delete(f"/ocl/users/{member.username}", headers=reader)
    deleted = await client.delete(f"/ocl/users/{member.username}", headers=deleter)
    not_back = await client.put(f"/ocl/users/{member.username}/reactivate", headers=deleter)
    back = await client.put(f"/ocl/users/{member.username}/reactivate", headers=reader)

    assert [refused.status_code, deleted.status_code, not_back.status_code, back.status_code] == [
        403,
        204,
        403,
        204,
    ]


async def test_an_unknown_method_is_405_in_ocls_format(client: httpx.AsyncClient, staff: Member) -> None:
    answer = await client.patch("/ocl/users/", headers=staff.basic, json={})

    assert answer.status_code == 405
    assert "detail" in answer.json()


async def test_a_user_created_by_ocl_is_the_person_opscom_pushes_to(
    client: httpx.AsyncClient, staff: Member, make_token: MakeToken
) -> None:
    created = (await client.post("/ocl/users", headers=staff.basic, json=SEED_CREATE)).json()
    pusher = make_token("user-create", "user-update")

    pushed = await client.post(
        "/opscom/api/OC_TOMA/v1/profiles/push",
        json=opscom_push(
            pusher,
            login_source="OCL",
            unique_id=created["uuid"],
            user_name="johnnydoe",
            email="johnny@pushed.example.org",
        ),
    )

    assert pushed.json().get("status") == "success", pushed.text
    after = (await client.get("/ocl/users/johnnydoe", headers=staff.basic)).json()
    assert after["uuid"] == created["uuid"]
    assert after["email"] == "johnny@pushed.example.org"


async def test_a_user_is_created_from_an_urlencoded_form(client: httpx.AsyncClient, staff: Member) -> None:
    answer = await client.post("/ocl/users/", headers=staff.basic, data=SEED_CREATE)

    assert answer.status_code == 201, answer.text
    assert answer.json()["preferredLocale"] == "en,sw"


async def test_a_user_updates_themselves_with_a_multipart_form(
    client: httpx.AsyncClient, member: Member
) -> None:
    answer = await client.post(
        "/ocl/user/", headers=member.basic, data={"location": "Kisumu"}, files={"bio": ("bio.txt", b"hello")}
    )
    text_only = await client.post("/ocl/user/", headers=member.basic, files={"location": (None, "Kisumu")})

    assert answer.status_code == 400
    assert "bio is a file" in answer.json()["detail"]
    assert text_only.status_code == 200, text_only.text
    assert text_only.json()["location"] == "Kisumu"


async def test_a_malformed_multipart_body_is_400(client: httpx.AsyncClient, member: Member) -> None:
    headers = {**member.basic, "Content-Type": "multipart/form-data"}  # no boundary

    answer = await client.post("/ocl/user/", headers=headers, content=b"--x\r\n\r\n")

    assert answer.status_code == 400
    assert "not a valid multipart/form-data form" in answer.json()["detail"]
