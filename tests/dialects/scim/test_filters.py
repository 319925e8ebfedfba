"""The SCIM filter and PATCH path parser: the AST each form gives, and the FilterError each mistake gives."""

from __future__ import annotations

import pytest

from provisionhub.dialects.scim.filters import (
    MAX_DEPTH,
    MAX_FILTER_LENGTH,
    And,
    AttributePath,
    Comparison,
    FilterError,
    Not,
    Operator,
    Or,
    PatchPath,
    Present,
    ValuePath,
    parse_filter,
    parse_path,
)

USER = "urn:ietf:params:scim:schemas:core:2.0:user"


def eq(name: str, value: object, sub: str | None = None) -> Comparison:
    return Comparison(AttributePath(name, sub), Operator.EQ, value)  # type: ignore[arg-type]


@pytest.mark.parametrize("operator", list(Operator))
def test_each_comparison_operator(operator: Operator) -> None:
    assert parse_filter(f'title {operator} "x"') == Comparison(AttributePath("title"), operator, "x")


def test_pr_has_no_value() -> None:
    assert parse_filter("title pr") == Present(AttributePath("title"))


def test_keywords_operators_and_attribute_names_are_case_insensitive() -> None:
    assert parse_filter('UserName EQ "Bjensen" AND Title Pr OR NOT (Active eQ TRUE)') == Or(
        (
            And((eq("username", "Bjensen"), Present(AttributePath("title")))),
            Not(eq("active", True)),
        )
    )


def test_and_binds_tighter_than_or() -> None:
    a, b, c = eq("a", 1), eq("b", 2), eq("c", 3)
    assert parse_filter("a eq 1 or b eq 2 and c eq 3") == Or((a, And((b, c))))
    assert parse_filter("a eq 1 and b eq 2 or c eq 3") == Or((And((a, b)), c))


def test_a_chain_of_one_operator_is_one_node() -> None:
    assert parse_filter("a eq 1 and b eq 2 and c eq 3") == And((eq("a", 1), eq("b", 2), eq("c", 3)))
    assert parse_filter("a eq 1 or b eq 2 or c eq 3") == Or((eq("a", 1), eq("b", 2), eq("c", 3)))


def test_parentheses_group() -> None:
    assert parse_filter("(a eq 1 or b eq 2) and c eq 3") == And((Or((eq("a", 1), eq("b", 2))), eq("c", 3)))
    assert parse_filter("((a pr))") == Present(AttributePath("a"))


def test_not_negates_a_group_with_or_without_a_space() -> None:
    assert parse_filter('not (title eq "x")') == Not(eq("title", "x"))
    assert parse_filter('not(title eq "x") and a pr') == And(
        (Not(eq("title", "x")), Present(AttributePath("a")))
    )
    assert parse_filter("not (not (a pr))") == Not(Not(Present(AttributePath("a"))))


def test_an_attribute_may_be_called_not_and_or_or() -> None:
    assert parse_filter('not eq "x"') == eq("not", "x")
    assert parse_filter('or eq "x" and and pr') == And((eq("or", "x"), Present(AttributePath("and"))))


def test_sub_attributes_and_schema_urns() -> None:
    assert parse_filter('name.familyName sw "J"') == Comparison(
        AttributePath("name", "familyname"), Operator.SW, "J"
    )
    assert parse_filter(f'{USER}:userName eq "x"'.replace("user:", "User:")) == Comparison(
        AttributePath("username", None, USER), Operator.EQ, "x"
    )
    enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    assert parse_filter(f"{enterprise}:manager.value pr") == Present(
        AttributePath("manager", "value", enterprise.lower())
    )


def test_attribute_path_key_and_text() -> None:
    path = AttributePath("name", "familyname", USER)
    assert path.key == "name.familyname"
    assert str(path) == f"{USER}:name.familyname"
    assert str(AttributePath("title")) == "title"


def test_value_path() -> None:
    assert parse_filter('emails[type eq "work"]') == ValuePath(AttributePath("emails"), eq("type", "work"))
    assert parse_filter('emails[type eq "work" and primary eq true]') == ValuePath(
        AttributePath("emails"), And((eq("type", "work"), eq("primary", True)))
    )


def test_value_path_with_a_sub_attribute_is_one_more_condition_on_the_same_value() -> None:
    expected = ValuePath(
        AttributePath("emails"),
        And((eq("type", "work"), eq("primary", True), eq("value", "a@example.org"))),
    )
    assert parse_filter('emails[type eq "work" and primary eq true].value eq "a@example.org"') == expected
    assert parse_filter('emails[type eq "work"].value pr') == ValuePath(
        AttributePath("emails"), And((eq("type", "work"), Present(AttributePath("value"))))
    )


def test_value_path_in_a_larger_filter() -> None:
    assert parse_filter('userName sw "j" and emails[not (type eq "home")] or title pr') == Or(
        (
            And(
                (
                    Comparison(AttributePath("username"), Operator.SW, "j"),
                    ValuePath(AttributePath("emails"), Not(eq("type", "home"))),
                )
            ),
            Present(AttributePath("title")),
        )
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('"plain"', "plain"),
        ('""', ""),
        (r'"say \"hi\""', 'say "hi"'),
        (r'"back\\slash \/ \b\f\n\r\t"', "back\\slash / \b\f\n\r\t"),
        (r'"\u00e9t\u00C9 \ud83d\ude00"', "étÉ \N{GRINNING FACE}"),
        ('"été ünïcode"', "été ünïcode"),
        ('"and or not ) ] ["', "and or not ) ] ["),
        ("0", 0),
        ("42", 42),
        ("-7", -7),
        ("1.5", 1.5),
        ("-0.25e2", -25.0),
        ("1E3", 1000.0),
        ("true", True),
        ("False", False),
        ("NULL", None),
    ],
)
def test_values_are_json(text: str, value: object) -> None:
    parsed = parse_filter(f"a eq {text}")
    assert isinstance(parsed, Comparison)
    assert parsed.value == value
    assert type(parsed.value) is type(value)


def test_whitespace_is_free_around_tokens() -> None:
    assert parse_filter('  ( a eq "x" )\tand\nb pr  ') == And((eq("a", "x"), Present(AttributePath("b"))))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "expected an attribute, 'not' or '(', found the end of the filter (at offset 0)"),
        ("   ", "expected an attribute, 'not' or '(', found the end of the filter (at offset 3)"),
        (
            "userName",
            "expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) after 'username', "
            "found the end of the filter (at offset 8)",
        ),
        (
            'userName is "x"',
            "expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) after 'username', "
            "found 'is' (at offset 9)",
        ),
        ("userName eq", "expected a value (a string, number, true, false or null), found the end"),
        ("userName eq bjensen", "expected a value (a string, number, true, false or null), found 'bjensen'"),
        ("userName eq 'x'", 'unexpected "\'" (at offset 12)'),
        ('userName eq "x', "an unterminated or invalid string (at offset 12)"),
        (r'userName eq "\x"', "an unterminated or invalid string (at offset 12)"),
        ('userName eq "tab\there"', "an unterminated or invalid string (at offset 12)"),
        (r'a eq "\u0000"', "a string may not hold the character U+0000 (at offset 5)"),
        (r'a eq "\ud800"', "a string may not hold a lone surrogate"),
        ("a eq 01", "unexpected '0' (at offset 5)"),
        ("a eq 1.", "unexpected '1' (at offset 5)"),
        ("a eq 1e999", "the number 1e999 is out of range (at offset 5)"),
        ("a eq 9223372036854775808", "the number 9223372036854775808 is out of range"),
        ('a eq "x" b eq "y"', "expected 'and', 'or' or the end of the filter, found 'b' (at offset 9)"),
        ('a eq "x" and', "expected an attribute, 'not' or '(', found the end of the filter (at offset 12)"),
        ('a eq "x" or or b pr', "expected an attribute, 'not' or '(', found 'or'"),
        ('(a eq "x"', "expected ')' to close the '(' at offset 0, found the end of the filter (at offset 9)"),
        ('a eq "x")', "expected 'and', 'or' or the end of the filter, found ')' (at offset 8)"),
        ("()", "expected an attribute, 'not' or '(', found ')' (at offset 1)"),
        ('not title eq "x"', "expected '(' after 'not', found 'title' (at offset 4)"),
        ('emails[type eq "work"', "expected ']' to close the '[' at offset 6, found the end of the filter"),
        ('emails[type eq "work")', "expected ']' to close the '[' at offset 6, found ')'"),
        ("emails[]", "expected an attribute, 'not' or '(', found ']' (at offset 7)"),
        ('emails[type eq "work"]]', "expected 'and', 'or' or the end of the filter, found ']'"),
        ('emails[type eq "work"].value', "after 'value', found the end of the filter"),
        ("a[b[c pr]]", "a value path cannot hold another value path (at offset 3)"),
        ('name.givenName[value eq "x"]', "a value path needs a multi-valued attribute, not 'name.givenName'"),
        (
            'emails[work.type eq "x"]',
            "inside a value path's brackets 'work.type' must be a plain sub-attribute",
        ),
        (f'emails[{USER}:type eq "x"]', "must be a plain sub-attribute name"),
        ('a.b.c eq "x"', "'a.b.c' is not an attribute path (at offset 0)"),
        (
            "urn:" + "a:" * 30 + " pr",
            "'urn:a:a:a:a:a:a:a:a:a:a:a:a:a:a:a:a:a:a:...' is not an attribute path",
        ),
        ('foo:bar eq "x"', "'foo:bar' is not an attribute path"),
        ('1a eq "x"', "unexpected '1' (at offset 0)"),
        ('user-name eq "x" & b pr', "unexpected '&' (at offset 17)"),
        ('a eq "x" and .sub pr', "expected an attribute, 'not' or '(', found '.sub'"),
        ('a eq "x" and [b pr]', "expected an attribute, 'not' or '(', found '['"),
    ],
)
def test_syntax_errors_say_what_and_where(text: str, message: str) -> None:
    with pytest.raises(FilterError) as raised:
        parse_filter(text)
    assert message in str(raised.value)


def test_filter_error_carries_the_offset() -> None:
    with pytest.raises(FilterError) as raised:
        parse_filter('a eq "x" b')
    assert raised.value.offset == 9


def test_a_filter_longer_than_the_limit_is_refused() -> None:
    longest = 'a eq "' + "x" * (MAX_FILTER_LENGTH - 7) + '"'
    assert len(longest) == MAX_FILTER_LENGTH
    assert parse_filter(longest) == eq("a", "x" * (MAX_FILTER_LENGTH - 7))
    with pytest.raises(FilterError, match="at most 4096 characters long, not 4097"):
        parse_filter(longest + " ")


def test_nesting_deeper_than_the_limit_is_refused() -> None:
    def nested(depth: int, opening: str = "(", closing: str = ")") -> str:
        return opening * depth + "a pr" + closing * depth

    assert parse_filter(nested(MAX_DEPTH)) == Present(AttributePath("a"))
    with pytest.raises(FilterError, match="at most 32 levels deep"):
        parse_filter(nested(MAX_DEPTH + 1))
    with pytest.raises(FilterError, match="at most 32 levels deep"):
        parse_filter(nested(MAX_DEPTH + 1, "not (", ")"))
    with pytest.raises(FilterError, match="at most 32 levels deep"):
        parse_filter("e[" + nested(MAX_DEPTH) + "]")


def test_many_operands_in_a_row_are_not_nesting() -> None:
    parsed = parse_filter(" or ".join(f'a eq "{n}"' for n in range(300)))
    assert isinstance(parsed, Or)
    assert len(parsed.operands) == 300


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("title", PatchPath(AttributePath("title"))),
        ("name.familyName", PatchPath(AttributePath("name", "familyname"))),
        (f"{USER}:name.givenName", PatchPath(AttributePath("name", "givenname", USER))),
        ('emails[type eq "work"]', PatchPath(AttributePath("emails"), eq("type", "work"))),
        ('emails[type eq "work"].value', PatchPath(AttributePath("emails", "value"), eq("type", "work"))),
        (
            'members[value eq "2819c223" or display sw "B"]',
            PatchPath(
                AttributePath("members"),
                Or((eq("value", "2819c223"), Comparison(AttributePath("display"), Operator.SW, "B"))),
            ),
        ),
    ],
)
def test_patch_paths(text: str, path: PatchPath) -> None:
    assert parse_path(text) == path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "expected an attribute, found the end of the filter (at offset 0)"),
        ('"title"', "expected an attribute, found '\"title\"'"),
        ("title eq", "expected 'and', 'or' or the end of the filter, found 'eq'"),
        ('emails[type eq "work"', "expected ']' to close the '[' at offset 6"),
        ('emails[type eq "work"].value.x', "expected 'and', 'or' or the end of the filter, found '.x'"),
        ('name.givenName[value eq "x"]', "a value path needs a multi-valued attribute"),
    ],
)
def test_patch_path_errors(text: str, message: str) -> None:
    with pytest.raises(FilterError) as raised:
        parse_path(text)
    assert message in str(raised.value)
