"""Keeping credentials out of the access log: a request line can carry one in its query string
(UNIWeb's PHP client sends `resource.php?access_token=...`; a GET's request object may carry its 2015
`token` property inside a JSON parameter), and uvicorn logs request lines whole."""

from __future__ import annotations

import copy
import logging
import re
from typing import Any
from urllib.parse import unquote_plus

from uvicorn.config import LOGGING_CONFIG

#: Query parameters that hold a credential, whatever their case.
_CREDENTIALS = re.compile(
    r"(?i)(?P<name>(?:^|[?&])(?:access_token|refresh_token|apitoken|token|client_secret|password)=)[^&#\s]*"
)

#: A secret provisionhub issued (an API token, an OAuth client secret or access token), wherever it stands:
#: its prefix, then 40 letters and digits (see auth/tokens.py). Client ids (phc-) are not secrets.
_ISSUED = re.compile(r"(?P<prefix>ph[as]?-)[A-Za-z0-9]{40}(?![A-Za-z0-9])")


#: A credential property inside JSON in a query string (UNIWeb's GET request object), unless masked already.
_JSON_CREDENTIALS = re.compile(
    r'(?i)(?P<name>"(?:access_token|refresh_token|apitoken|token|client_secret|password)"\s*:\s*")'
    r'(?!(?:ph[as]?-)?\*\*\*")[^"]*'
)
#: Characters a decoded line must not put in the log as they are (a forged line, a terminal escape).
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")


def redacted(text: str) -> str:
    """text with each credential parameter's value, and each secret provisionhub issued, replaced by ***.
    Matched in the text as sent and once percent-decoded (a token may be sent as `ph%2D...`, or inside JSON
    in a parameter): when decoding shows a credential the text as sent hid, the decoded text is logged,
    masked, its control characters escaped."""
    masked = _masked(text)
    if "%" not in masked and "+" not in masked:
        return masked
    decoded = masked
    for _ in range(3):  # a value encoded twice or thrice is decoded as a client's server would
        once = unquote_plus(decoded)
        if once == decoded:
            break
        decoded = once
    again = _masked(decoded)
    if again == decoded:
        return masked
    return _UNPRINTABLE.sub(lambda found: f"\\x{ord(found[0]):02x}", again)


def _masked(text: str) -> str:
    text = _ISSUED.sub(r"\g<prefix>***", _CREDENTIALS.sub(r"\g<name>***", text))
    return _JSON_CREDENTIALS.sub(r"\g<name>***", text)


class RedactCredentials(logging.Filter):
    """Masks credential parameters in a log record's arguments (uvicorn's access log passes the path with
    its query string as one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redacted(arg) if isinstance(arg, str) else arg for arg in record.args)
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's logging configuration, its access log filtered by RedactCredentials."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_credentials"] = {"()": RedactCredentials}
    # Seam, pinned: uvicorn's access handler; the path is one argument (tests/http/test_library_seams.py).
    config["handlers"]["access"]["filters"] = ["redact_credentials"]
    return config
