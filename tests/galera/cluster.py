"""A private three-node MariaDB Galera cluster on loopback ports, for the Galera tests: its own data
directories, bootstrapped by the fixture, each node stopped, killed, frozen or restarted by its PID.

Never the shared server on 3306.  Galera comes from Debian's galera-4 (``wsrep_provider``); a node that
joins takes a snapshot of another over rsync (SST), or the writes it missed from its donor's cache (IST).
"""

import getpass
import os
import re
import shutil
import subprocess
import tempfile
import time

import pymysql
from sqlalchemy.engine import make_url

from ..conftest import MYSQL_URL
from ..faults.mariadb import INSTALL_DB, MARIADBD, PrivateMariaDB, free_port

PROVIDER = "/usr/lib/galera/libgalera_smm.so"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HAPROXY = shutil.which("haproxy", path="/usr/sbin:/usr/bin:" + os.environ.get("PATH", "")) or "/usr/sbin/haproxy"
#: as root, the nodes run as this user: the rsync daemon a joining node starts for its snapshot would
#: otherwise drop to "nobody", who may not write the data directory
USER = "mysql"
#: how quickly the others give up on a node that does not answer (a frozen one): seconds, not Galera's 15
EVS = "evs.keepalive_period=PT0.5S;evs.suspect_timeout=PT2S;evs.inactive_timeout=PT4S;evs.install_timeout=PT4S"


def available():
    """What is missing to run a cluster here, or None."""
    needed = (PROVIDER, MARIADBD, INSTALL_DB, shutil.which("rsync") or "rsync", HAPROXY)
    missing = [p for p in needed if not os.path.exists(p)]
    return ", ".join(missing) or None


class Node(PrivateMariaDB):
    """One node; connect, freeze, thaw, kill and stop as a private MariaDB (tests/faults/mariadb.py)."""

    def __init__(self, cluster, n):
        self.cluster, self.n = cluster, n
        self.directory = os.path.join(cluster.directory, f"node{n}")
        self.datadir = os.path.join(self.directory, "data")
        self.tmpdir = os.path.join(self.directory, "tmp")  # its own (tests/faults/mariadb.py says why)
        self.port, self.gcomm, self.ist, self.sst = (free_port() for _ in range(4))
        self.process = None
        self.frozen = False
        self.log_from = 0

    @property
    def url(self):
        driver = make_url(MYSQL_URL).get_driver_name()
        return f"mysql+{driver}://root@127.0.0.1:{self.port}/{self.cluster.database}"

    def argv(self, bootstrap=False):
        argv = [
            MARIADBD,
            "--no-defaults",
            f"--datadir={self.datadir}",
            f"--tmpdir={self.tmpdir}",
            f"--port={self.port}",
            "--bind-address=127.0.0.1",
            f"--socket={self.directory}/mysqld.sock",
            f"--pid-file={self.directory}/mysqld.pid",
            f"--log-error={self.directory}/error.log",
            "--innodb-buffer-pool-size=32M",
            "--innodb-flush-log-at-trx-commit=2",
            "--innodb-autoinc-lock-mode=2",
            "--binlog-format=ROW",
            "--max-connections=300",
            "--wsrep-on=ON",
            f"--wsrep-provider={PROVIDER}",
            "--wsrep-cluster-name=myapp_test",
            f"--wsrep-cluster-address=gcomm://{'' if bootstrap else self.cluster.peers()}",
            f"--wsrep-node-name=node{self.n}",
            f"--wsrep-node-address=127.0.0.1:{self.gcomm}",
            f"--wsrep-provider-options=base_port={self.gcomm};ist.recv_addr=127.0.0.1:{self.ist};gcache.size=64M;{EVS}",
            "--wsrep-sst-method=rsync",
            f"--wsrep-sst-receive-address=127.0.0.1:{self.sst}",
            "--wsrep-slave-threads=2",
        ]
        if os.geteuid() == 0:
            argv.append(f"--user={USER}")
        return argv

    def install(self):
        os.makedirs(self.tmpdir, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.directory, USER, USER)
            shutil.chown(self.tmpdir, USER, USER)
        subprocess.run(
            [
                INSTALL_DB,
                "--no-defaults",
                f"--datadir={self.datadir}",
                f"--tmpdir={self.tmpdir}",
                f"--user={USER if os.geteuid() == 0 else getpass.getuser()}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ],
            check=True,
            capture_output=True,
        )

    def start(self, bootstrap=False, timeout=90):
        """Start and wait until the node is synced with the cluster (or, bootstrapping, is the cluster).

        A node that was killed does not know where it stopped (its grastate.dat says seqno -1), and would
        take a whole snapshot (SST).  As systemd's galera_recovery does, its position is recovered from
        InnoDB first (``--wsrep-recover``) and given at start: it then asks only for the writes it missed
        (IST), from a donor's cache."""
        argv = self.argv(bootstrap)
        position = None if bootstrap else self.recovered_position()
        if position:
            argv.append(f"--wsrep-start-position={position}")
        self.log_from = os.path.getsize(self.error_log) if os.path.exists(self.error_log) else 0
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.frozen = False
        self.wait_synced(timeout)

    @property
    def error_log(self):
        return os.path.join(self.directory, "error.log")

    def recovered_position(self):
        """uuid:seqno of the last write InnoDB holds, when the node stopped without saying it (else None)."""
        state = os.path.join(self.datadir, "grastate.dat")
        if not os.path.exists(state) or "seqno:   -1" not in open(state).read():
            return None
        log = os.path.join(self.directory, "recover.log")
        argv = [a if not a.startswith("--log-error=") else f"--log-error={log}" for a in self.argv()]
        subprocess.run([*argv, "--wsrep-recover"], check=True, capture_output=True, timeout=120)
        found = re.findall(r"Recovered position: (\S+:-?\d+)", open(log).read())
        return found[-1] if found and not found[-1].endswith(":-1") else None

    def rejoined_by(self):
        """How the node caught up at its last start: "IST" (the writes it missed), "SST" (a whole snapshot),
        or None (it missed nothing)."""
        with open(self.error_log) as f:
            f.seek(self.log_from)
            said = f.read()
        if "rsync SST completed" in said:  # (the SST script runs for an IST too: "rsync IST completed")
            return "SST"
        if "IST received" in said:
            return "IST"
        return None

    def wait_synced(self, timeout=90):
        deadline = time.monotonic() + timeout
        while True:
            try:
                with self.connect(connect_timeout=1, read_timeout=2) as conn:
                    if (
                        self.status(conn, "wsrep_local_state_comment") == "Synced"
                        and self.status(conn, "wsrep_ready") == "ON"
                    ):
                        return
            except pymysql.err.MySQLError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"node{self.n} did not join the cluster: see {self.directory}/error.log")
            time.sleep(0.1)

    @staticmethod
    def status(conn, name):
        with conn.cursor() as cursor:
            cursor.execute("SHOW STATUS LIKE %s", (name,))
            row = cursor.fetchone()
        return row[1] if row else None

    def stop(self, timeout=60):  # a node may be donating a snapshot: longer than a lone server
        super().stop(timeout)


class Proxy:
    """HAProxy in front of the cluster as deploy/haproxy.cfg has it: every connection to the first node, to a
    backup when deploy/galera-check (which logs in as "haproxy") says the node is not ready."""

    def __init__(self, cluster):
        self.cluster, self.port = cluster, free_port()
        self.config = os.path.join(cluster.directory, "haproxy.cfg")
        self.process = None

    @property
    def url(self):
        driver = make_url(MYSQL_URL).get_driver_name()
        return f"mysql+{driver}://root@127.0.0.1:{self.port}/{self.cluster.database}"

    def start(self):
        servers = "".join(
            f"    server node{node.n} 127.0.0.1:{node.port} check{'' if node.n == 1 else ' backup'}\n"
            for node in self.cluster.nodes
        )
        check = os.path.join(ROOT, "deploy", "galera-check")
        with open(self.config, "w") as f:
            f.write(
                "global\n    insecure-fork-wanted\n    external-check\n"
                "defaults\n    mode tcp\n    timeout connect 3s\n    timeout client 1h\n    timeout server 1h\n"
                f"listen galera\n    bind 127.0.0.1:{self.port}\n    option external-check\n"
                f"    external-check path /usr/bin:/bin\n    external-check command {check}\n"
                "    default-server inter 500ms fall 2 rise 2 on-marked-down shutdown-sessions\n" + servers
            )
        with self.cluster.nodes[0].connect() as conn, conn.cursor() as cursor:
            cursor.execute("CREATE USER IF NOT EXISTS 'haproxy'@'127.0.0.1'")
        with open(os.path.join(self.cluster.directory, "haproxy.log"), "wb") as log:
            self.process = subprocess.Popen([HAPROXY, "-db", "-f", self.config], stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while True:
            try:
                pymysql.connect(host="127.0.0.1", port=self.port, user="root", connect_timeout=1).close()
                return self
            except pymysql.err.MySQLError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("HAProxy did not start") from None
                time.sleep(0.1)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


class Cluster:
    """Three nodes; ``start()`` bootstraps the first and joins the others to it."""

    def __init__(self, database="myapp_galera", size=3):
        # not under pytest's temporary directory, which only root may enter
        self.directory = tempfile.mkdtemp(prefix="myapp-galera-")
        if os.geteuid() == 0:
            os.chmod(self.directory, 0o755)
            shutil.chown(self.directory, USER, USER)
        self.database = database
        self.nodes = [Node(self, n) for n in range(1, size + 1)]

    def peers(self):
        return ",".join(f"127.0.0.1:{node.gcomm}" for node in self.nodes)

    def start(self):
        first, *others = self.nodes
        for node in self.nodes:
            node.install()
        first.start(bootstrap=True)
        with first.connect() as conn:
            conn.cursor().execute(f"CREATE DATABASE {self.database} CHARACTER SET utf8mb4")
        for node in others:
            node.start()
        return self

    def size(self, node=None):
        """How many nodes ``node`` (the first that answers) sees in its primary component."""
        for candidate in [node] if node else self.nodes:
            if candidate.process.poll() is None and not candidate.frozen:
                with candidate.connect(connect_timeout=1, read_timeout=2) as conn:
                    return int(candidate.status(conn, "wsrep_cluster_size"))
        return 0

    def stop(self):
        for node in self.nodes:
            node.stop()
        shutil.rmtree(self.directory, ignore_errors=True)
