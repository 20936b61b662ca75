"""Logging helpers that keep PHI out of the logs."""

import logging
import re

# "GET /patients/?search=smith HTTP/1.1" -> "GET /patients/?… HTTP/1.1": search terms can be names.
_QUERY_STRING = re.compile(r"\?[^\s\"']*")


class StripQueryStringFilter(logging.Filter):
    """Remove query strings from request lines before they reach any handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = record.getMessage()
            record.args = None
        if isinstance(record.msg, str) and "?" in record.msg:
            record.msg = _QUERY_STRING.sub("?…", record.msg)
        return True
