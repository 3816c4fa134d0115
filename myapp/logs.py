"""Logging that stays readable during an outage: one line per event, a traceback at most once a minute per kind."""

import logging
import threading
import time


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
                record.msg = f"{record.msg} ({record.exc_info[0].__name__}: {record.exc_info[1]}; "\
                             "traceback logged once a minute)"
                record.exc_info = record.exc_text = None
        return True


def fewer_tracebacks(logger_name):
    """Install FewerTracebacks on a logger (once)."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, FewerTracebacks) for f in logger.filters):
        logger.addFilter(FewerTracebacks())
