"""Keeping credentials out of the access log: a request line can carry one in its query string
(UNIWeb's PHP client sends `resource.php?access_token=...`), and uvicorn logs request lines whole."""

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


def redacted(text: str) -> str:
    """text with each credential parameter's value replaced by ***."""
    return _CREDENTIALS.sub(r"\g<name>***", text)


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
    config["handlers"]["access"]["filters"] = ["redact_credentials"]
    return config
