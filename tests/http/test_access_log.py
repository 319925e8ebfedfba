"""Credentials in a request line are masked in the access log."""

from __future__ import annotations

import logging

import pytest

from provisionhub.http.access_log import RedactCredentials, redacted


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("/uniweb/api/resource.php?access_token=pha-secret", "/uniweb/api/resource.php?access_token=***"),
        ("/x?a=1&ACCESS_TOKEN=s3cret&b=2", "/x?a=1&ACCESS_TOKEN=***&b=2"),
        ("/x?apiToken=ph-abc#frag", "/x?apiToken=***#frag"),
        ("/x?client_secret=phs-1&password=hunter22", "/x?client_secret=***&password=***"),
        (
            "/scim/v2/Users?filter=userName%20eq%20%22token%22",
            "/scim/v2/Users?filter=userName%20eq%20%22token%22",
        ),
        ("/x?mytoken=kept", "/x?mytoken=kept"),
        (
            f"/r.php?request=%7B%22token%22%3A%22pha-{'a1' * 20}%22%7D",
            "/r.php?request=%7B%22token%22%3A%22pha-***%22%7D",
        ),
        (f'/x?q={{"apiToken":"ph-{"Z" * 40}"}}', '/x?q={"apiToken":"ph-***"}'),
        (f"/x?id=phc-{'c' * 24}&s=phs-{'s' * 41}", f"/x?id=phc-{'c' * 24}&s=phs-{'s' * 41}"),
        # Decoded before matching: a token percent-encoded, in part or whole, or twice, or inside JSON.
        (f"/scim/v2/Users?x=ph%2D{'A' * 40}", "/scim/v2/Users?x=ph-***"),
        (f"/x?q={'%' + '%'.join(f'{b:02X}' for b in ('pha-' + 'b' * 40).encode())}", "/x?q=pha-***"),
        (f"/x?q=ph%252D{'C' * 40}", "/x?q=ph-***"),
        (
            "/uniweb/api/resource.php?request=%7B%22action%22%3A%22read%22%2C%22access%5Ftoken%22%3A%22live%22%7D",
            '/uniweb/api/resource.php?request={"action":"read","access_token":"***"}',
        ),
        ("/x?access%5Ftoken=live&b=2", "/x?access_token=***&b=2"),
        ("/x?a=%0D%0A&access%5Ftoken=live", "/x?a=\\x0d\\x0a&access_token=***"),
        ("/x?name=Ada+Lovelace&q=%7B%7D", "/x?name=Ada+Lovelace&q=%7B%7D"),
    ],
)
def test_credential_parameters_are_masked_and_nothing_else(line: str, shown: str) -> None:
    assert redacted(line) == shown


def test_the_filter_masks_a_records_arguments() -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", "/p?access_token=pha-xyz", "1.1", 200), None,
    )  # fmt: skip

    assert RedactCredentials().filter(record)
    assert "pha-xyz" not in record.getMessage()
    assert "access_token=***" in record.getMessage()
