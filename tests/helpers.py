"""What tests share besides fixtures: waiting for a condition, a free port, MySQL's general log."""

import socket
import threading
import time
import urllib.error
import urllib.request

import pymysql
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import Pool


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
qualname = myapp.checks.scheduler
[handler_console]
class = StreamHandler
args = (sys.stderr,)
formatter = plain
[formatter_plain]
format = %(levelname)s:%(name)s:%(message)s
"""


class GeneralLog:
    """The statements of the connections the test's own thread checks out, from mysql.general_log (on
    only while a test uses it, and used by one test at a time on the server: a named lock)."""

    def __init__(self, url):
        self.thread, self.ours = threading.get_ident(), set()
        event.listen(Pool, "checkout", self._checkout)
        parts = make_url(url)
        self.conn = pymysql.connect(
            host=parts.host,
            port=parts.port or 3306,
            user=parts.username,
            password=parts.password or "",
            autocommit=True,
        )
        self.cursor = self.conn.cursor()
        # the log is the whole server's: one user at a time, whichever process (the asyncmy rerun's pytest, another
        # checkout's), or one's TRUNCATE and the other's turning it off at its end would empty the other's
        self.cursor.execute("SELECT GET_LOCK('myapp_test_general_log', 300)")
        assert self.cursor.fetchone()[0] == 1, "another test run kept MySQL's general log for 5 minutes"
        self.cursor.execute("SELECT @@global.general_log, @@global.log_output")
        self.was = self.cursor.fetchone()
        self.cursor.execute("SET GLOBAL log_output = 'TABLE'")
        self.cursor.execute("SET GLOBAL general_log = 1")

    def _checkout(self, dbapi_connection, record, proxy):
        if threading.get_ident() == self.thread:  # the request's loop runs in the test's thread
            self.ours.add(dbapi_connection.driver_connection.server_thread_id[0])

    def clear(self):
        self.cursor.execute("TRUNCATE TABLE mysql.general_log")

    def __iter__(self):
        if not self.ours:
            return iter([])
        self.cursor.execute(
            "SELECT argument FROM mysql.general_log WHERE command_type = 'Query' "
            "AND thread_id IN %s ORDER BY event_time",
            (sorted(self.ours),),
        )
        rows = self.cursor.fetchall()
        return iter([(a.decode() if isinstance(a, bytes) else a).split()[0].upper() for (a,) in rows])

    def close(self):
        event.remove(Pool, "checkout", self._checkout)
        self.cursor.execute("SET GLOBAL general_log = %s", (self.was[0],))
        self.cursor.execute("SET GLOBAL log_output = %s", (self.was[1],))
        self.cursor.execute("SELECT RELEASE_LOCK('myapp_test_general_log')")
        self.conn.close()
