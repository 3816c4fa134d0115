"""A private MariaDB server for fault tests: its own data directory and port, stopped by its PID.

Never the shared server on 3306: these tests freeze, kill and restart it.
"""

import os
import shutil
import signal
import socket
import subprocess
import time

import pymysql
from sqlalchemy.engine import make_url

from ..conftest import MYSQL_URL

MARIADBD = shutil.which("mariadbd", path="/usr/sbin:/usr/bin:" + os.environ.get("PATH", "")) or "/usr/sbin/mariadbd"
INSTALL_DB = shutil.which("mariadb-install-db") or "/usr/bin/mariadb-install-db"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateMariaDB:
    def __init__(self, directory, database="myapp_faults"):
        self.directory = str(directory)
        self.datadir = os.path.join(self.directory, "data")
        # a directory of its own for its temporary files: mariadbd clears its tmpdir's #sql files as it starts, and
        # another worker's private server may start while this one's tables are being made
        self.tmpdir = os.path.join(self.directory, "tmp")
        os.makedirs(self.tmpdir, exist_ok=True)
        self.port = free_port()
        self.database = database
        self.process = None
        self.frozen = False

    @property
    def url(self):
        """On the driver of the suite's own MySQL URL (MYAPP_TEST_MYSQL_URL): aiomysql, or asyncmy."""
        driver = make_url(MYSQL_URL).get_driver_name()
        return f"mysql+{driver}://root@127.0.0.1:{self.port}/{self.database}"

    def install(self):
        subprocess.run(
            [
                INSTALL_DB,
                "--no-defaults",
                f"--datadir={self.datadir}",
                f"--tmpdir={self.tmpdir}",
                "--user=root",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ],
            check=True,
            capture_output=True,
        )
        self.start()
        with self.connect() as conn:
            conn.cursor().execute(f"CREATE DATABASE {self.database} CHARACTER SET utf8mb4")
        return self

    def start(self, timeout=30):
        argv = [
            MARIADBD,
            "--no-defaults",
            f"--datadir={self.datadir}",
            f"--tmpdir={self.tmpdir}",
            f"--port={self.port}",
            "--bind-address=127.0.0.1",
            f"--socket={self.directory}/mysqld.sock",
            f"--pid-file={self.directory}/mysqld.pid",
            "--skip-log-bin",
            "--innodb-buffer-pool-size=32M",
            "--max-connections=300",
            f"--log-error={self.directory}/error.log",
        ]
        if os.geteuid() == 0:
            argv.append("--user=root")
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.connect(connect_timeout=1).close()
                return
            except pymysql.err.OperationalError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the private mariadbd did not start: see {self.directory}/error.log") from None
                time.sleep(0.05)

    def connect(self, **kw):
        return pymysql.connect(host="127.0.0.1", port=self.port, user="root", password="", autocommit=True, **kw)

    def freeze(self):
        self.process.send_signal(signal.SIGSTOP)
        self.frozen = True

    def thaw(self):
        self.process.send_signal(signal.SIGCONT)
        self.frozen = False

    def kill(self):
        """Die at once, as on a crash or an out-of-memory kill."""
        if self.frozen:
            self.thaw()
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self, timeout=30):
        if self.process is None or self.process.poll() is not None:
            return
        if self.frozen:
            self.thaw()
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def restart(self):
        self.stop()
        self.start()
