"""Log output for the daemons: ``text`` (one readable line) or ``json`` (one JSON object a line,
for a log shipper), and the fields every line of a daemon carries (``rsu_id``, ``worker``).

``bind(rsu_id=...)`` sets fields for the code running in the current context and in the tasks
it starts from then on (``contextvars``): a daemon's ``serve`` binds its id first, so every line
its tasks log says which RSU or twin worker wrote it. The JSON formatter is a dozen lines of the
standard library (``json.dumps`` of the record's fields): no dependency for that.
"""

from __future__ import annotations

import contextvars
import datetime
import json
import logging
from typing import Literal, TextIO

LogFormat = Literal["text", "json"]

_fields: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("vicoop_log_fields")

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(context)s: %(message)s"


def bind(**fields: str) -> None:
    """Add ``fields`` to every log line of this context (and of tasks it starts later)."""
    _fields.set({**_fields.get({}), **fields})


def bound() -> dict[str, str]:
    return dict(_fields.get({}))


class ContextFilter(logging.Filter):
    """Puts the bound fields on each record (``record.context``: `` [rsu_id=...]`` for text)."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = _fields.get({})
        record.fields = fields
        record.context = (
            " [" + " ".join(f"{k}={v}" for k, v in fields.items()) + "]" if fields else ""
        )
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, the bound fields,
    and the traceback as ``exc_info`` when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure(level: str = "INFO", fmt: LogFormat = "text", stream: TextIO | None = None) -> None:
    """Set up the root logger once for a ``vicoop`` process."""
    handler: logging.Handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
