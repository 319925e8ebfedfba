"""SCIM PATCH on User and Group documents: each op with and without path, each path form, the quirks of
Microsoft Entra ID and Okta, and the ScimError each mistake gives."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from provisionhub.dialects.scim.errors import ScimError, ScimType
from provisionhub.dialects.scim.patch import MAX_OPERATIONS, apply_patch
from provisionhub.dialects.scim.schemas import (
    ENTERPRISE,
    GROUP,
    GROUP_SCHEMA,
    PATCH_OP,
    PROVISIONHUB,
    USER,
    USER_EXTENSIONS,
    USER_SCHEMA,
)

BASE = "https://idm.example.org/scim/v2"
BJENSEN = "2819c223-7f76-453a-919d-413861904646"
MANAGER = "26118915-6090-4610-87e4-49d8ca9f808d"


def make_user(**overrides: Any) -> dict[str, Any]:
    """A User document as a GET returns it."""
    user: dict[str, Any] = {
        "schemas": [USER, ENTERPRISE, PROVISIONHUB],
        "id": BJENSEN,
        "externalId": "bjensen",
        "userName": "bjensen@example.com",
        "name": {"formatted": "Barbara Jensen", "givenName": "Barbara", "familyName": "Jensen"},
        "displayName": "Babs Jensen",
        "active": True,
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": True}],
        "phoneNumbers": [
            {"value": "+1 555 0100", "type": "work"},
            {"value": "+1 555 0199", "type": "mobile"},
        ],
        "groups": [{"value": "e9e30dba", "$ref": f"{BASE}/Groups/e9e30dba", "display": "Tour Guides"}],
        ENTERPRISE: {
            "employeeNumber": "701984",
            "department": "Tour Operations",
            "manager": {"value": MANAGER, "$ref": f"{BASE}/Users/{MANAGER}", "displayName": "John Smith"},
        },
        PROVISIONHUB: {"loginSource": "staff", "location": "Building 4"},
        "meta": {
            "resourceType": "User",
            "created": "2024-01-23T04:56:22Z",
            "lastModified": "2024-05-13T04:42:34Z",
            "location": f"{BASE}/Users/{BJENSEN}",
            "version": 'W/"3694e05e9dff591"',
        },
    }
    user.update(overrides)
    return user


def make_group(*member_ids: str) -> dict[str, Any]:
    """A Group document as a GET returns it."""
    return {
        "schemas": [GROUP],
        "id": "e9e30dba",
        "displayName": "Tour Guides",
        "members": [
            {"value": m, "$ref": f"{BASE}/Users/{m}", "display": f"user {m}", "type": "User"}
            for m in member_ids or ("u1", "u2")
        ],
        "meta": {"resourceType": "Group", "location": f"{BASE}/Groups/e9e30dba"},
    }


def patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def patched_user(*operations: dict[str, Any], user: dict[str, Any] | None = None) -> dict[str, Any]:
    return apply_patch(user or make_user(), patch(*operations), USER_SCHEMA, USER_EXTENSIONS)


def patched_group(*operations: dict[str, Any], group: dict[str, Any] | None = None) -> dict[str, Any]:
    return apply_patch(group or make_group(), patch(*operations), GROUP_SCHEMA)


def refused(*operations: dict[str, Any], user: dict[str, Any] | None = None) -> ScimError:
    with pytest.raises(ScimError) as caught:
        patched_user(*operations, user=user)
    assert caught.value.status == 400
    return caught.value


# -- the request -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_body", "words"),
    [
        ([], "JSON object"),
        ("add", "JSON object"),
        ({"schemas": [USER], "Operations": [{"op": "add", "value": {}}]}, "schemas"),
        ({"schemas": PATCH_OP, "Operations": [{"op": "add", "value": {}}]}, "schemas"),
        ({"schemas": [PATCH_OP]}, "Operations"),
        ({"schemas": [PATCH_OP], "Operations": []}, "Operations"),
        ({"schemas": [PATCH_OP], "Operations": {"op": "add"}}, "Operations"),
        (patch("add"), "Operations[0] must be an object"),
        (patch({"path": "title", "value": "x"}), "Operations[0]: op must be"),
        (patch({"op": "upsert", "path": "title", "value": "x"}), "'upsert'"),
        (patch({"op": 1, "path": "title", "value": "x"}), "op must be"),
        (patch({"op": "add", "path": 7, "value": "x"}), "path must be a string"),
        ({"schemas": [PATCH_OP], "Operations": [], "operations": []}, "2 times"),
    ],
)
def test_a_malformed_body_is_invalid_syntax(request_body: Any, words: str) -> None:
    with pytest.raises(ScimError) as caught:
        apply_patch(make_user(), request_body, USER_SCHEMA, USER_EXTENSIONS)
    assert (caught.value.status, caught.value.scim_type) == (400, ScimType.INVALID_SYNTAX)
    assert words in caught.value.detail


def test_the_index_of_a_malformed_operation_is_named() -> None:
    good = {"op": "replace", "path": "title", "value": "x"}
    error = refused(good, good, {"op": "replace", "path": "title"})
    assert error.scim_type == ScimType.INVALID_VALUE
    assert "Operations[2]" in error.detail
    assert "needs a value" in error.detail


def test_an_empty_path_is_invalid_path() -> None:
    assert refused({"op": "replace", "path": " ", "value": "x"}).scim_type == ScimType.INVALID_PATH


def test_more_operations_than_the_bound_are_refused() -> None:
    operation = {"op": "replace", "path": "title", "value": "x"}
    with pytest.raises(ScimError) as caught:
        patched_user(*[operation] * (MAX_OPERATIONS + 1))
    assert caught.value.scim_type == ScimType.TOO_MANY
    assert str(MAX_OPERATIONS) in caught.value.detail
    assert patched_user(*[operation] * MAX_OPERATIONS)["title"] == "x"


def test_schemas_may_be_left_out_and_member_names_are_case_insensitive() -> None:
    request = {"operations": [{"OP": "Replace", "Path": "title", "Value": "Guide"}]}
    assert apply_patch(make_user(), request, USER_SCHEMA, USER_EXTENSIONS)["title"] == "Guide"


def test_a_null_path_is_no_path() -> None:
    assert patched_user({"op": "replace", "path": None, "value": {"title": "Guide"}})["title"] == "Guide"


def test_the_input_document_and_request_are_left_as_they_were() -> None:
    user, request = (
        make_user(),
        patch(
            {"op": "add", "path": "emails", "value": [{"value": "b@example.org", "primary": True}]},
            {"op": "replace", "path": "name.givenName", "value": "Babs"},
            {"op": "remove", "path": 'phoneNumbers[type eq "mobile"]'},
            {"op": "add", "value": {ENTERPRISE: {"department": "Sales"}}},
        ),
    )
    user_before, request_before = copy.deepcopy(user), copy.deepcopy(request)
    result = apply_patch(user, request, USER_SCHEMA, USER_EXTENSIONS)
    assert user == user_before
    assert request == request_before
    assert result != user


def test_operations_apply_in_order() -> None:
    result = patched_user(
        {"op": "replace", "path": "title", "value": "first"},
        {"op": "remove", "path": "title"},
        {"op": "add", "path": "title", "value": "last"},
    )
    assert result["title"] == "last"


# -- add -------------------------------------------------------------------------------------------


def test_add_with_path_sets_a_single_valued_attribute() -> None:
    assert patched_user({"op": "add", "path": "title", "value": "Tour Guide"})["title"] == "Tour Guide"


def test_add_with_path_merges_into_a_complex_attribute() -> None:
    result = patched_user({"op": "add", "path": "name", "value": {"middleName": "Jane"}})
    assert result["name"] == {
        "formatted": "Barbara Jensen",
        "givenName": "Barbara",
        "familyName": "Jensen",
        "middleName": "Jane",
    }


def test_add_with_path_appends_to_a_multi_valued_attribute() -> None:
    result = patched_user(
        {"op": "add", "path": "emails", "value": [{"value": "babs@home.example", "type": "home"}]}
    )
    assert result["emails"] == [
        {"value": "bjensen@example.com", "type": "work", "primary": True},
        {"value": "babs@home.example", "type": "home"},
    ]


def test_add_of_a_single_object_to_a_multi_valued_attribute_adds_one_value() -> None:
    result = patched_user({"op": "add", "path": "emails", "value": {"value": "babs@home.example"}})
    assert result["emails"][-1] == {"value": "babs@home.example"}


def test_add_of_a_value_already_there_does_not_add_it_twice() -> None:
    result = patched_user(
        {"op": "add", "path": "emails", "value": [{"value": "BJensen@example.com", "type": "work"}]}
    )
    assert len(result["emails"]) == 1


def test_add_without_path_merges_attributes_into_the_resource() -> None:
    result = patched_user(
        {
            "op": "add",
            "value": {
                "title": "Tour Guide",
                "name": {"middleName": "Jane"},
                "emails": [{"value": "babs@home.example", "type": "home"}],
            },
        }
    )
    assert result["title"] == "Tour Guide"
    assert result["name"]["middleName"] == "Jane"
    assert result["name"]["givenName"] == "Barbara"
    assert [e["value"] for e in result["emails"]] == ["bjensen@example.com", "babs@home.example"]


def test_attribute_names_are_case_insensitive_and_written_canonically() -> None:
    result = patched_user(
        {"op": "add", "value": {"TITLE": "Guide", "Name": {"MIDDLENAME": "Jane"}}},
        {"op": "add", "path": "PHONENUMBERS", "value": [{"VALUE": "+1 555 0111", "Type": "work"}]},
    )
    assert result["title"] == "Guide"
    assert result["name"]["middleName"] == "Jane"
    assert result["phoneNumbers"][-1] == {"value": "+1 555 0111", "type": "work"}
    assert "TITLE" not in result
    assert "Name" not in result


def test_add_to_an_absent_attribute_creates_it() -> None:
    user = make_user()
    del user["phoneNumbers"]
    result = patched_user(
        {"op": "add", "path": "phoneNumbers", "value": [{"value": "1", "type": "work"}]}, user=user
    )
    assert result["phoneNumbers"] == [{"value": "1", "type": "work"}]


# -- replace ---------------------------------------------------------------------------------------


def test_replace_with_path_sets_a_single_valued_attribute() -> None:
    assert patched_user({"op": "replace", "path": "displayName", "value": "Babs"})["displayName"] == "Babs"


def test_replace_with_path_merges_into_a_complex_attribute() -> None:
    result = patched_user({"op": "replace", "path": "name", "value": {"givenName": "Babs"}})
    assert result["name"]["givenName"] == "Babs"
    assert result["name"]["familyName"] == "Jensen"


def test_replace_with_path_replaces_all_values_of_a_multi_valued_attribute() -> None:
    result = patched_user(
        {"op": "replace", "path": "phoneNumbers", "value": [{"value": "9", "type": "mobile"}]}
    )
    assert result["phoneNumbers"] == [{"value": "9", "type": "mobile"}]


def test_replace_without_path_replaces_multi_valued_attributes_wholesale() -> None:
    result = patched_user(
        {
            "op": "replace",
            "value": {"emails": [{"value": "new@example.com", "type": "work"}], "title": "Boss"},
        }
    )
    assert result["emails"] == [{"value": "new@example.com", "type": "work"}]
    assert result["title"] == "Boss"


def test_replace_with_null_unassigns() -> None:
    result = patched_user(
        {"op": "replace", "path": "displayName", "value": None},
        {"op": "replace", "path": "name.givenName", "value": None},
    )
    assert "displayName" not in result
    assert "givenName" not in result["name"]
    assert result["name"]["familyName"] == "Jensen"


def test_replace_with_an_empty_list_unassigns_a_multi_valued_attribute() -> None:
    assert "phoneNumbers" not in patched_user({"op": "replace", "path": "phoneNumbers", "value": []})


def test_okta_deactivates_with_replace_of_active_without_path() -> None:
    result = patched_user({"op": "replace", "value": {"active": False}})
    assert result["active"] is False
    assert result["userName"] == "bjensen@example.com"


# -- paths -----------------------------------------------------------------------------------------


def test_a_sub_attribute_path_sets_the_sub_attribute() -> None:
    result = patched_user({"op": "replace", "path": "name.familyName", "value": "Jensen-Smith"})
    assert result["name"]["familyName"] == "Jensen-Smith"
    assert result["name"]["givenName"] == "Barbara"


def test_a_sub_attribute_path_creates_the_complex_attribute_when_absent() -> None:
    user = make_user()
    del user["name"]
    result = patched_user({"op": "add", "path": "name.givenName", "value": "Barbara"}, user=user)
    assert result["name"] == {"givenName": "Barbara"}


def test_a_core_urn_prefixed_path() -> None:
    result = patched_user({"op": "replace", "path": f"{USER}:name.givenName", "value": "Babs"})
    assert result["name"]["givenName"] == "Babs"


def test_an_extension_urn_prefixed_path() -> None:
    result = patched_user({"op": "replace", "path": f"{ENTERPRISE}:employeeNumber", "value": "42"})
    assert result[ENTERPRISE]["employeeNumber"] == "42"
    assert result[ENTERPRISE]["department"] == "Tour Operations"


def test_an_extension_urn_prefixed_sub_attribute_path() -> None:
    result = patched_user({"op": "replace", "path": f"{ENTERPRISE}:manager.value", "value": "m2"})
    assert result[ENTERPRISE]["manager"]["value"] == "m2"


def test_urns_in_paths_are_case_insensitive() -> None:
    result = patched_user({"op": "replace", "path": f"{ENTERPRISE.upper()}:EMPLOYEENUMBER", "value": "42"})
    assert result[ENTERPRISE]["employeeNumber"] == "42"


def test_a_bare_extension_urn_path_takes_the_extension_object() -> None:
    result = patched_user({"op": "add", "path": ENTERPRISE.lower(), "value": {"Department": "Sales"}})
    assert result[ENTERPRISE]["department"] == "Sales"
    assert result[ENTERPRISE]["employeeNumber"] == "701984"


def test_an_extension_added_to_a_user_without_it_is_listed_in_schemas() -> None:
    user = make_user(schemas=[USER])
    del user[ENTERPRISE], user[PROVISIONHUB]
    result = patched_user({"op": "add", "value": {ENTERPRISE: {"employeeNumber": "7"}}}, user=user)
    assert result[ENTERPRISE] == {"employeeNumber": "7"}
    assert result["schemas"] == [USER, ENTERPRISE]


def test_an_extension_urn_prefixed_key_without_path() -> None:
    result = patched_user({"op": "replace", "value": {f"{ENTERPRISE}:department": "Sales"}})
    assert result[ENTERPRISE]["department"] == "Sales"


def test_removing_an_extension_removes_what_the_client_may_remove() -> None:
    result = patched_user({"op": "remove", "path": ENTERPRISE}, {"op": "remove", "path": PROVISIONHUB})
    assert ENTERPRISE not in result
    assert result[PROVISIONHUB] == {"loginSource": "staff"}  # readOnly: the server's
    assert result["schemas"] == [USER, PROVISIONHUB]


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("nickName", "'nickname'"),
        ("name.nickName", "no sub-attribute 'nickname'"),
        ("title.value", "no sub-attribute"),
        (f"{ENTERPRISE}:costCenter", "'costcenter'"),
        ("urn:ietf:params:scim:schemas:extension:other:2.0:User:x", "not a schema of this resource"),
        ('title[value eq "x"]', "single-valued"),
        ('emails[kind eq "work"].value', "no sub-attribute 'kind'"),
        ('emails[type eq "work"', "not a valid path"),
        ("emails[primary gt true]", "boolean"),
    ],
)
def test_a_path_to_nothing_known_is_invalid_path(path: str, words: str) -> None:
    error = refused({"op": "replace", "path": path, "value": "x"})
    assert error.scim_type == ScimType.INVALID_PATH
    assert words in error.detail


def test_an_unknown_attribute_in_a_value_is_invalid_path() -> None:
    error = refused({"op": "add", "value": {"nickName": "Babs"}})
    assert error.scim_type == ScimType.INVALID_PATH
    assert "nickname" in error.detail
    error = refused({"op": "add", "path": "name", "value": {"nickName": "Babs"}})
    assert (error.scim_type, "nickName" in error.detail) == (ScimType.INVALID_PATH, True)


# -- value filters ---------------------------------------------------------------------------------


def test_replace_of_a_filtered_sub_attribute_sets_it_on_the_matching_values() -> None:
    result = patched_user(
        {"op": "replace", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+1 555 0123"}
    )
    assert result["phoneNumbers"] == [
        {"value": "+1 555 0100", "type": "work"},
        {"value": "+1 555 0123", "type": "mobile"},
    ]


def test_replace_of_filtered_values_replaces_each_whole() -> None:
    result = patched_user(
        {
            "op": "replace",
            "path": 'phoneNumbers[value sw "+1 555 01"]',
            "value": {"value": "0", "type": "work"},
        }
    )
    assert result["phoneNumbers"] == [{"value": "0", "type": "work"}, {"value": "0", "type": "work"}]


def test_add_to_filtered_values_merges_into_each() -> None:
    result = patched_user({"op": "add", "path": 'phoneNumbers[type eq "work"]', "value": {"primary": True}})
    assert result["phoneNumbers"][0] == {"value": "+1 555 0100", "type": "work", "primary": True}


def test_a_compound_filter_selects_the_values_it_matches() -> None:
    path = 'phoneNumbers[type eq "work" or (value co "0199" and not (type eq "home"))].type'
    result = patched_user({"op": "replace", "path": path, "value": "other"})
    assert [p["type"] for p in result["phoneNumbers"]] == ["other", "other"]


def test_a_filter_that_matches_nothing_on_replace_is_no_target() -> None:
    error = refused({"op": "replace", "path": 'phoneNumbers[value eq "nope"].type', "value": "work"})
    assert error.scim_type == ScimType.NO_TARGET


def test_remove_with_a_filter_removes_the_matching_values() -> None:
    result = patched_user({"op": "remove", "path": 'phoneNumbers[type eq "mobile"]'})
    assert result["phoneNumbers"] == [{"value": "+1 555 0100", "type": "work"}]


def test_remove_with_a_filter_that_matches_nothing_changes_nothing() -> None:
    user = make_user()
    assert patched_user({"op": "remove", "path": 'phoneNumbers[type eq "home"]'}, user=user) == user


def test_remove_of_a_filtered_sub_attribute() -> None:
    result = patched_user({"op": "remove", "path": 'emails[type eq "work"].primary'})
    assert result["emails"] == [{"value": "bjensen@example.com", "type": "work"}]


def test_remove_of_the_value_of_a_filtered_value_removes_that_value() -> None:
    result = patched_user({"op": "remove", "path": 'phoneNumbers[type eq "mobile"].value'})
    assert result["phoneNumbers"] == [{"value": "+1 555 0100", "type": "work"}]


def test_removing_the_last_value_unassigns_the_attribute() -> None:
    assert "emails" not in patched_user({"op": "remove", "path": 'emails[value ew "@EXAMPLE.COM"]'})


# -- remove ----------------------------------------------------------------------------------------


def test_remove_without_path_is_no_target() -> None:
    assert refused({"op": "remove"}).scim_type == ScimType.NO_TARGET


def test_remove_of_a_single_valued_attribute() -> None:
    assert "displayName" not in patched_user({"op": "remove", "path": "displayName"})


def test_remove_of_a_sub_attribute() -> None:
    result = patched_user(
        {"op": "remove", "path": f"{ENTERPRISE}:manager"}, {"op": "remove", "path": "name.givenName"}
    )
    assert "manager" not in result[ENTERPRISE]
    assert "givenName" not in result["name"]


def test_remove_of_a_multi_valued_attribute_removes_all_values() -> None:
    assert "phoneNumbers" not in patched_user({"op": "remove", "path": "phoneNumbers"})


def test_remove_of_an_absent_attribute_changes_nothing() -> None:
    user = make_user()
    assert (
        patched_user({"op": "remove", "path": "title"}, {"op": "remove", "path": "addresses"}, user=user)
        == user
    )


def test_a_required_attribute_cannot_be_removed() -> None:
    error = refused({"op": "remove", "path": "userName"})
    assert (error.scim_type, "userName" in error.detail) == (ScimType.INVALID_VALUE, True)


# -- primary ---------------------------------------------------------------------------------------


def test_a_value_added_as_primary_takes_primary_from_the_others() -> None:
    result = patched_user(
        {
            "op": "add",
            "path": "emails",
            "value": [{"value": "babs@home.example", "type": "home", "primary": True}],
        }
    )
    assert result["emails"] == [
        {"value": "bjensen@example.com", "type": "work", "primary": False},
        {"value": "babs@home.example", "type": "home", "primary": True},
    ]


def test_a_sub_attribute_set_primary_takes_primary_from_the_others() -> None:
    result = patched_user(
        {"op": "add", "path": "emails", "value": [{"value": "babs@home.example", "type": "home"}]},
        {"op": "replace", "path": 'emails[type eq "home"].primary', "value": "True"},
    )
    assert [e.get("primary") for e in result["emails"]] == [False, True]


def test_two_primary_values_are_refused() -> None:
    value = [{"value": "a@example.org", "primary": True}, {"value": "b@example.org", "primary": True}]
    error = refused({"op": "replace", "path": "emails", "value": value})
    assert (error.scim_type, "primary" in error.detail) == (ScimType.INVALID_VALUE, True)


# -- mutability ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "name"),
    [
        ({"op": "replace", "path": "id", "value": "other"}, "id"),
        ({"op": "replace", "value": {"id": "other"}}, "id"),
        ({"op": "replace", "path": "meta.version", "value": 'W/"1"'}, "meta"),
        ({"op": "add", "path": "groups", "value": [{"value": "g2"}]}, "groups"),
        ({"op": "remove", "path": "groups"}, "groups"),
        ({"op": "replace", "path": f"{PROVISIONHUB}:loginSource", "value": "guest"}, "loginSource"),
    ],
)
def test_changing_a_read_only_attribute_is_a_mutability_error(operation: dict[str, Any], name: str) -> None:
    error = refused(operation)
    assert error.scim_type == ScimType.MUTABILITY
    assert name in error.detail


def test_schemas_id_and_meta_sent_as_they_are_are_ignored() -> None:
    user = make_user()
    echoed = {k: user[k] for k in ("schemas", "id", "meta")}
    result = patched_user({"op": "replace", "value": {**echoed, "title": "Guide"}}, user=user)
    assert result == {**user, "title": "Guide"}


def test_schemas_naming_another_resource_are_refused() -> None:
    error = refused({"op": "replace", "value": {"schemas": [GROUP], "title": "Guide"}})
    assert error.scim_type == ScimType.INVALID_VALUE


def test_an_immutable_attribute_may_be_set_but_not_changed() -> None:
    added = patched_group({"op": "add", "path": "members", "value": [{"value": "u3", "type": "User"}]})
    assert added["members"][-1] == {"value": "u3", "type": "User"}
    with pytest.raises(ScimError) as caught:
        patched_group({"op": "replace", "path": 'members[value eq "u1"].value', "value": "u9"})
    assert caught.value.scim_type == ScimType.MUTABILITY


def test_a_write_only_password_may_be_set() -> None:
    assert (
        patched_user({"op": "replace", "path": "password", "value": "t1meMa$heen"})["password"]
        == "t1meMa$heen"
    )


# -- types -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "name"),
    [
        ({"op": "replace", "path": "title", "value": 7}, "title"),
        ({"op": "replace", "path": "title", "value": {"value": "x"}}, "title"),
        ({"op": "replace", "path": "title", "value": ["x"]}, "title"),
        ({"op": "replace", "path": "active", "value": "yes"}, "active"),
        ({"op": "replace", "path": "active", "value": 1}, "active"),
        ({"op": "replace", "path": "name", "value": ["Babs"]}, "name"),
        ({"op": "add", "path": "emails", "value": [{"value": 7}]}, "emails.value"),
        ({"op": "add", "path": "emails", "value": [None]}, "emails"),
        ({"op": "add", "path": "emails", "value": [["a@b"]]}, "emails"),
        ({"op": "add", "value": {"name.givenName": False}}, "name.givenName"),
        ({"op": "add", "value": ["title"]}, "object of attributes"),
        ({"op": "add", "value": {ENTERPRISE: "Sales"}}, ENTERPRISE),
        ({"op": "replace", "path": 'emails[type eq "work"].primary', "value": "maybe"}, "emails.primary"),
    ],
)
def test_a_value_of_the_wrong_type_is_invalid_value(operation: dict[str, Any], name: str) -> None:
    error = refused(operation)
    assert error.scim_type == ScimType.INVALID_VALUE
    assert name in error.detail


def test_a_simple_value_for_a_complex_attribute_with_a_value_is_its_value() -> None:
    result = patched_user({"op": "replace", "path": f"{ENTERPRISE}:manager", "value": "m2"})
    assert result[ENTERPRISE]["manager"]["value"] == "m2"


# -- Microsoft Entra ID ----------------------------------------------------------------------------


def test_entra_capitalised_ops() -> None:
    result = patched_user(
        {"op": "Add", "path": "title", "value": "Guide"},
        {"op": "Replace", "path": "displayName", "value": "Babs"},
        {"op": "Remove", "path": "phoneNumbers"},
    )
    assert (result["title"], result["displayName"], "phoneNumbers" in result) == ("Guide", "Babs", False)


def test_entra_string_booleans() -> None:
    assert patched_user({"op": "Replace", "path": "active", "value": "False"})["active"] is False
    assert patched_user({"op": "Replace", "path": "active", "value": "true"})["active"] is True


def test_entra_dotted_keys_and_value_paths_without_path() -> None:
    result = patched_user(
        {
            "op": "Replace",
            "value": {
                "displayName": "Babs Jensen-Smith",
                "name.givenName": "Babs",
                "name.familyName": "Jensen-Smith",
                'emails[type eq "work"].value': "babs@example.com",
                "active": "False",
            },
        }
    )
    assert result["name"] == {
        "formatted": "Barbara Jensen",
        "givenName": "Babs",
        "familyName": "Jensen-Smith",
    }
    assert result["emails"] == [{"value": "babs@example.com", "type": "work", "primary": True}]
    assert result["active"] is False


def test_entra_replace_of_a_work_email_that_is_not_there_creates_it() -> None:
    user = make_user()
    del user["emails"]
    result = patched_user(
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "b@example.com"}, user=user
    )
    assert result["emails"] == [{"type": "work", "value": "b@example.com"}]


def test_entra_add_of_a_mobile_number_beside_others_creates_it() -> None:
    user = make_user(phoneNumbers=[{"value": "+1 555 0100", "type": "work"}])
    result = patched_user(
        {"op": "Add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "7"}, user=user
    )
    assert result["phoneNumbers"][-1] == {"type": "mobile", "value": "7"}


def test_entra_removes_members_with_a_value_list() -> None:
    result = patched_group({"op": "Remove", "path": "members", "value": [{"value": "u1"}, {"value": "gone"}]})
    assert [m["value"] for m in result["members"]] == ["u2"]


def test_entra_adds_members_with_a_value_list() -> None:
    result = patched_group({"op": "Add", "path": "members", "value": [{"value": "u2"}, {"value": "u3"}]})
    assert [m["value"] for m in result["members"]] == ["u1", "u2", "u3"]
    assert result["members"][1]["display"] == "user u2"  # merged into the member already there


def test_entra_sets_the_manager_by_id() -> None:
    result = patched_user({"op": "Add", "path": f"{ENTERPRISE}:manager", "value": "m2"})
    assert result[ENTERPRISE]["manager"]["value"] == "m2"


# -- groups and Okta -------------------------------------------------------------------------------


def test_replace_of_members_on_a_group_replaces_them_all() -> None:
    result = patched_group({"op": "replace", "path": "members", "value": [{"value": "u3"}, {"value": "u4"}]})
    assert result["members"] == [{"value": "u3"}, {"value": "u4"}]


def test_okta_removes_a_member_with_a_value_filter() -> None:
    result = patched_group({"op": "remove", "path": 'members[value eq "u2"]'})
    assert [m["value"] for m in result["members"]] == ["u1"]


def test_okta_renames_a_group_without_path() -> None:
    result = patched_group({"op": "replace", "value": {"id": "e9e30dba", "displayName": "Guides"}})
    assert result["displayName"] == "Guides"


def test_a_user_attribute_on_a_group_is_invalid_path() -> None:
    with pytest.raises(ScimError) as caught:
        patched_group({"op": "add", "path": "userName", "value": "x"})
    assert caught.value.scim_type == ScimType.INVALID_PATH


# -- odd input -------------------------------------------------------------------------------------

_ODD_VALUES: list[Any] = [None, True, 0, 1.5, "", "x", [], [None], [[]], [{}], {}, {"": 1}, {"value": {}}]
_ODD_PATHS = [
    "title",
    "name",
    "name.givenName",
    "emails",
    'emails[type eq "work"]',
    'emails[type eq "work"].value',
    "emails.value",
    "members",
    f"{ENTERPRISE}:manager",
    ENTERPRISE,
    "groups",
    "meta",
    "urn:x",
    "[",
    "a.b.c",
]


@pytest.mark.parametrize("op", ["add", "replace", "remove"])
@pytest.mark.parametrize("path", [*_ODD_PATHS, None])
def test_odd_input_gives_a_scim_error_or_a_document(op: str, path: str | None) -> None:
    for value in _ODD_VALUES:
        operation: dict[str, Any] = {"op": op, "value": value}
        if path is not None:
            operation["path"] = path
        try:
            result: dict[str, Any] | ScimError = patched_user(operation)
        except ScimError as error:
            result = error
        if isinstance(result, ScimError):
            assert (result.status, result.scim_type is not None) == (400, True)
        else:
            assert isinstance(result, dict)
