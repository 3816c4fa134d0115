"""What tests share besides fixtures: waiting for a condition, and a free port."""

import socket
import time
import urllib.error
import urllib.request


def wait_until(predicate, timeout=15, interval=0.05):
    """Poll ``predicate`` until it returns a true value (which is returned), or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, "the condition did not hold in time"
        time.sleep(interval)


def wait_for_http(url, timeout):
    """Poll ``url`` until it answers (any status), or fail after ``timeout`` seconds."""

    def answers():
        try:
            urllib.request.urlopen(url, timeout=2).close()
        except urllib.error.HTTPError:
            pass
        except OSError:
            return False
        return True

    wait_until(answers, timeout)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: a logging set-up for pserve's ini: WARNING and up, and each check the scheduler starts it starts with its monitor and the slot it is due in (scheduler.py)
CHECKS_LOGGED = """
[loggers]
keys = root, scheduler
[handlers]
keys = console
[formatters]
keys = plain
[logger_root]
level = WARN
handlers = console
[logger_scheduler]
level = DEBUG
handlers =
qualname = myapp.monitors.scheduler
[handler_console]
class = StreamHandler
args = (sys.stderr,)
formatter = plain
[formatter_plain]
format = %(levelname)s:%(name)s:%(message)s
"""
