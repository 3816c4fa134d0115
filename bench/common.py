"""Plumbing shared by the bench scripts: servers started and stopped by PID, wrk, CPU time."""

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import pymysql

MYSQL = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}
BENCH_DB = os.environ.get("BENCH_DATABASE", "myapp_bench")
CLK_TCK = os.sysconf("SC_CLK_TCK")
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def mysql(db=None, port=MYSQL["port"], **kw):
    return pymysql.connect(**{**MYSQL, "port": port}, database=db, autocommit=True, **kw)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """User + system CPU time of a process and its threads, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def pinned(cpu, argv):
    """Prefix argv so it runs on one CPU, when there are at least two and taskset exists."""
    if cpu is None or (os.cpu_count() or 1) < 2 or not shutil.which("taskset"):
        return argv
    return ["taskset", "-c", str(cpu), *argv]


@contextlib.contextmanager
def server(argv, url, env=None, cpu=None, ready_timeout=30.0):
    """Start a server process, wait until ``url`` answers, stop it by its PID on exit."""
    log = tempfile.TemporaryFile()  # a file, not a pipe: a full pipe would block the server's logging
    proc = subprocess.Popen(
        pinned(cpu, argv),
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=log,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + ready_timeout
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"{argv} exited with {proc.returncode}: {log.read().decode()[-2000:]}")
            try:
                with urllib.request.urlopen(url, timeout=2) as res:
                    res.read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{argv} did not answer {url} within {ready_timeout:g} s") from None
                time.sleep(0.1)
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text):
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * _UNITS[unit]


def wrk(url, connections, seconds, cpu=None, threads=1, headers=None, script=None):
    """Load ``url`` with wrk for a fixed time (``script``: a Lua file, e.g. for a POST); requests/s, latency
    percentiles in ms, errors."""
    extra = [arg for name, value in (headers or {}).items() for arg in ("-H", f"{name}: {value}")]
    extra += ["-s", script] if script else []
    argv = pinned(
        cpu, ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s", *extra, url]
    )
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30, check=True).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    result["requests"] = int(re.search(r"(\d+) requests in", out).group(1))
    for pct in ("50", "99"):
        result[f"p{pct}_ms"] = _ms(re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    result["errors"] = (int(errors.group(1)) if errors else 0) + (
        sum(map(int, socket_errors.groups())) if socket_errors else 0
    )
    return result


def python(*args):
    return [sys.executable, *args]


METRICS_TOKEN = "bench-metrics-token-0123456789"


@contextlib.contextmanager
def production_app(port, root=ROOT, db_port=MYSQL["port"], **settings):
    """A temporary copy of production.ini listening on ``port`` against the bench database (on the server at
    ``db_port``), migrated.

    Yields (ini path, environment): start it with ``server(["pserve", ini], url, env=env)``.
    ``settings`` replace lines of the ini (``threads=8``, ``auth.argon2_time_cost=1``).
    """
    with mysql(port=db_port) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE IF NOT EXISTS {BENCH_DB} CHARACTER SET utf8mb4")
    with open(os.path.join(root, "production.ini")) as f:
        ini = re.sub(r"(?m)^listen = .*$", f"listen = 127.0.0.1:{port}", f.read())
    for name, value in settings.items():
        line = f"{name} = {value}"
        ini, found = re.subn(rf"(?m)^{re.escape(name)} =.*$", line, ini)
        if not found:
            ini = ini.replace("[app:main]\n", f"[app:main]\n{line}\n", 1)
    env = {
        "MYAPP_DATABASE_URL": f"mysql+aiomysql://root@127.0.0.1:{db_port}/{BENCH_DB}",
        "MYAPP_SESSION_SECRET": "bench-only-secret-0123456789-0123456789",
        "MYAPP_METRICS_TOKEN": METRICS_TOKEN,
    }
    if root != ROOT:  # another checkout of myapp (to measure before and after a change)
        env["PYTHONPATH"] = root
    with tempfile.NamedTemporaryFile("w", suffix=".ini", dir=root, prefix=".bench-") as config:
        config.write(ini)
        config.flush()
        script(root, env, "initialize_db", config.name)
        yield config.name, env


def script(root, env, name, *args, stdin=None):
    """Run one of myapp's console scripts (myapp.scripts.NAME) from the checkout at ``root``."""
    code = f"import sys; from myapp.scripts.{name} import main; main(['{name}', *sys.argv[1:]])"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        check=True,
        capture_output=True,
        text=True,
        input=stdin,
        env={**os.environ, **env},
        cwd=root,
    ).stdout


def health_details(base_url):
    """/api/health with the metrics token: the database and runtime details."""
    import json

    request = urllib.request.Request(base_url + "/api/health", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as res:
            return json.load(res)
    except urllib.error.HTTPError as exc:
        return json.load(exc)
