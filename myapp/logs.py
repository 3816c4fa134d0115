"""Logging: readable during an outage (one line per event, a traceback at most once a minute per kind),
a request id in every line, and JSON lines as an option (``myapp.log_format = json``)."""

import contextvars
import datetime
import json
import logging
import re
import threading
import time
import uuid
from typing import Literal

from pyramid.tweens import INGRESS

from .settings import Field, Section, read


class Tracebacks:
    """Decides when a traceback is worth logging: at most once per ``interval`` seconds per kind."""

    def __init__(self, interval=60.0):
        self.interval = interval
        self._last = {}
        self._lock = threading.Lock()

    def due(self, kind):
        now = time.monotonic()
        with self._lock:
            if now - self._last.get(kind, -self.interval) < self.interval:
                return False
            self._last[kind] = now
            return True


class FewerTracebacks(logging.Filter):
    """Keeps every record, but drops its traceback when one of the same kind was logged in the last minute."""

    def __init__(self, tracebacks=None):
        super().__init__()
        self.tracebacks = tracebacks or Tracebacks()

    def filter(self, record):
        if record.exc_info and record.exc_info[0] is not None:
            if not self.tracebacks.due((record.name, record.exc_info[0].__name__)):
                record.msg = (
                    f"{record.msg} ({record.exc_info[0].__name__}: {record.exc_info[1]}; "
                    "traceback logged once a minute)"
                )
                record.exc_info = record.exc_text = None
        return True


def fewer_tracebacks(logger_name: str) -> None:
    """Install FewerTracebacks on a logger (once)."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, FewerTracebacks) for f in logger.filters):
        logger.addFilter(FewerTracebacks())


# -- request ids and structured logs ---------------------------------------------------------

#: the id of the request being served in this context ("-" outside requests: the scheduler, the outbox)
REQUEST_ID = contextvars.ContextVar("request_id", default="-")
#: what a client may send as its own X-Request-ID; anything else is replaced (it ends up in every log line)
CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
access_log = logging.getLogger("myapp.access")

_base_factory = logging.getLogRecordFactory()


def _record_with_request_id(*args, **kwargs):
    record = _base_factory(*args, **kwargs)
    record.request_id = REQUEST_ID.get()
    return record


# on import (myapp imports this module first): a log format may name %(request_id)s in any line,
# scripts' included
logging.setLogRecordFactory(_record_with_request_id)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC), level, logger, request_id, message; and route, method, path,
    status and duration_ms on the access line of each request; the traceback as ``exc``."""

    FIELDS = ("route", "method", "path", "status", "duration_ms")

    def format(self, record):
        entry = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        entry.update((name, getattr(record, name)) for name in self.FIELDS if hasattr(record, name))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


class LogSettings(Section):
    format: Literal["text", "json"] = Field("text", alias="myapp.log_format")


def use_json(settings):
    """With ``myapp.log_format = json``: every handler of the root logger writes JSON lines."""
    if read(LogSettings, settings).format == "json":
        for handler in logging.getLogger().handlers:
            handler.setFormatter(JsonFormatter())


def request_id_tween_factory(handler, registry):
    def request_id_tween(request):
        given = request.headers.get("X-Request-ID", "")
        request.request_id = given if CLIENT_ID.match(given) else uuid.uuid4().hex
        token = REQUEST_ID.set(request.request_id)
        started = time.perf_counter()
        try:
            response = handler(request)
            response.headers["X-Request-ID"] = request.request_id
            route = request.matched_route.name if request.matched_route is not None else None
            if access_log.isEnabledFor(logging.INFO):
                duration = round((time.perf_counter() - started) * 1000, 1)
                path = (request.environ.get("SCRIPT_NAME", "") + request.environ.get("PATH_INFO", ""))[:300]
                access_log.info(
                    "%s %r %s %s ms",
                    request.method,
                    path,
                    response.status_int,
                    duration,
                    extra={
                        "route": route,
                        "method": request.method,
                        "path": path,
                        "status": response.status_int,
                        "duration_ms": duration,
                    },
                )
            return response
        finally:
            REQUEST_ID.reset(token)

    return request_id_tween


def includeme(config):
    """Every request gets an id (X-Request-ID, kept from the client when it is a plain token), found in
    each log line written while it is served, in its error body and in the response's X-Request-ID."""
    use_json(config.get_settings())
    config.add_tween("myapp.logs.request_id_tween_factory", under=INGRESS)
