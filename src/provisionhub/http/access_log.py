"""Keeping credentials out of the access log: a request line can carry one in its query string
(UNIWeb's PHP client sends `resource.php?access_token=...`; a GET's request object may carry its 2015
`token` property inside a JSON parameter), and uvicorn logs request lines whole."""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

from uvicorn.config import LOGGING_CONFIG

#: Query parameters that hold a credential, whatever their case.
_CREDENTIALS = re.compile(
    r"(?i)(?P<name>(?:^|[?&])(?:access_token|refresh_token|apitoken|token|client_secret|password)=)[^&#\s]*"
)

#: A secret provisionhub issued (an API token, an OAuth client secret or access token), wherever it stands:
#: its prefix, then 40 letters and digits (see auth/tokens.py). Client ids (phc-) are not secrets.
_ISSUED = re.compile(r"(?P<prefix>ph[as]?-)[A-Za-z0-9]{40}(?![A-Za-z0-9])")


def redacted(text: str) -> str:
    """text with each credential parameter's value, and each secret provisionhub issued, replaced by ***."""
    return _ISSUED.sub(r"\g<prefix>***", _CREDENTIALS.sub(r"\g<name>***", text))


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
