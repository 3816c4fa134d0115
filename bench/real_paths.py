"""myapp's real API endpoints against the same endpoints in sync Pyramid + sync SQLAlchemy ORM + PyMySQL.

    python -m bench.real_paths [--seconds 5] [--connections 32] [--rounds 2] [--profile]

The servers run production-like (16 threads) against MariaDB, pinned to one CPU with wrk on
the other, and are loaded in alternation, endpoint by endpoint: GET /api/users/me with an API
key (the caller's read), GET /api/monitors?limit=50 (a page of 50 with uptimes and channels),
POST /api/monitors (validate, insert, commit).  myapp runs as production.ini has it (uvloop,
aiomysql), and again with the asyncio loop and with the asyncmy driver.  Prints requests/s, latency, CPU microseconds per request and the ratio to the peer
(goal: >= 1.0x).  With ``--profile``, py-spy samples myapp under each load and the top
functions (own time and with what they call) go to bench/results/real_paths-<endpoint>.txt.
"""

import argparse
import collections
import contextlib
import json
import os
import subprocess
import tempfile
import urllib.request

from .app_paths import PASSWORD
from .common import BENCH_DB, HERE, cpu_seconds, free_port, mysql, production_app, python, script, server, wrk

SERVER_CPU, LOAD_CPU = 1, 0
MONITORS = 60
ENDPOINTS = [
    ("GET /api/users/me", "GET", "/api/users/me"),
    ("GET /api/monitors (50)", "GET", "/api/monitors?limit=50"),
    ("POST /api/monitors", "POST", "/api/monitors"),
]
#: myapp as production.ini runs it (uvloop, aiomysql), and with one choice changed: (name, env from env)
VARIANTS = [
    ("myapp on asyncio", lambda env: {"MYAPP_AIO_LOOP": "asyncio"}),
    (
        "myapp on asyncmy",
        lambda env: {"MYAPP_DATABASE_URL": env["MYAPP_DATABASE_URL"].replace("+aiomysql:", "+asyncmy:")},
    ),
]
NEW_MONITOR = json.dumps({"name": "bench write", "url": "https://example.com/", "paused": True})


def write_key(base, env, ini):
    script(
        os.path.dirname(HERE),
        env,
        "create_admin",
        ini,
        "--email",
        "bench@example.com",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    body = json.dumps({"email": "bench@example.com", "password": PASSWORD, "scope": "write"}).encode()
    request = urllib.request.Request(base + "/api/tokens", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as res:
        return json.load(res)["token"]


def seed(base, token):
    manifest = {
        "monitors": [
            {"name": f"bench {n:03d}", "url": f"https://example.com/{n}", "paused": True} for n in range(MONITORS)
        ]
    }
    request = urllib.request.Request(
        base + "/api/apply",
        data=json.dumps(manifest).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=60) as res:
        assert len(json.load(res)["monitors"]["create"]) == MONITORS


def lua_post(body):
    script_file = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    script_file.write(
        f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\nwrk.headers["Content-Type"] = "application/json"\n'
    )
    script_file.close()
    return script_file.name


def load(url, method, headers, seconds, connections, post_script):
    extra = {"script": post_script} if method == "POST" else {}
    return wrk(url, connections, seconds, cpu=LOAD_CPU, headers=headers, **extra)


def profile(pid, url, method, headers, seconds, connections, post_script, name):
    """Sample ``pid`` with py-spy while it serves ``url``; write its top functions to bench/results."""
    raw = tempfile.NamedTemporaryFile(suffix=".txt", delete=False).name
    sampler = subprocess.Popen(
        [
            "py-spy",
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(seconds),
            "--rate",
            "250",
            "--format",
            "raw",
            "--output",
            raw,
            "--gil",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    load(url, method, headers, seconds, connections, post_script)
    sampler.wait(seconds + 30)
    own, inclusive, total = collections.Counter(), collections.Counter(), 0
    with open(raw) as f:
        for line in f:
            stack, _, count = line.rstrip().rpartition(" ")
            if not stack or "(idle)" in stack:
                continue
            # "function (path/file.py:line)" -> "function (file.py)": time by function, not by line
            frames = [
                frame.split(" (")[0] + " (" + frame.rsplit("/", 1)[-1].split(":")[0].rstrip(")") + ")"
                for frame in stack.split(";")
            ]
            count = int(count)
            total += count
            own[frames[-1]] += count
            for frame in set(frames):
                inclusive[frame] += count
    os.unlink(raw)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    slug = "-".join(name.split()[:2]).lower().replace("/api/", "").replace("/", "-")
    path = os.path.join(HERE, "results", f"real_paths-{slug}.txt")
    with open(path, "w") as out:
        out.write(f"py-spy samples of myapp serving {method} {url}: {total} busy samples\n\nown time\n")
        out.writelines(f"{n / total:6.1%}  {frame}\n" for frame, n in own.most_common(30))
        out.write("\nwith what it calls\n")
        out.writelines(f"{n / total:6.1%}  {frame}\n" for frame, n in inclusive.most_common(40))
    return path


@contextlib.contextmanager
def ini_copy(ini, port, new_port):
    """``ini`` listening on ``new_port`` instead of ``port``."""
    path = ini.replace(".ini", f"-{new_port}.ini")
    with open(ini) as f, open(path, "w") as out:
        out.write(f.read().replace(f"127.0.0.1:{port}", f"127.0.0.1:{new_port}"))
    try:
        yield path
    finally:
        os.unlink(path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    with mysql() as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
    port, peer_port = free_port(), free_port()
    settings = {
        "auth.argon2_time_cost": "1",
        "auth.argon2_memory_kib": "8192",
        "monitors.scheduler": "false",
        "monitors.max_per_user": "0",
        "alerts.outbox": "false",
    }
    post_script = lua_post(NEW_MONITOR)
    rows = collections.defaultdict(list)
    with production_app(port, **settings) as (ini, env):
        base, peer = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{peer_port}"
        peer_argv = python(
            "-m", "bench.peers.pyramid_sync_app", str(peer_port), f"mysql+pymysql://root@127.0.0.1:3306/{BENCH_DB}"
        )
        with contextlib.ExitStack() as stack:
            servers = [
                (
                    "myapp",
                    base,
                    stack.enter_context(server(["pserve", ini], base + "/api/health", env=env, cpu=SERVER_CPU)).pid,
                )
            ]
            for who, variant_env in VARIANTS:  # the same ini on another port, the same database
                variant_port = free_port()
                variant_ini = stack.enter_context(ini_copy(ini, port, variant_port))
                url = f"http://127.0.0.1:{variant_port}"
                proc = stack.enter_context(
                    server(
                        ["pserve", variant_ini], url + "/api/health", env={**env, **variant_env(env)}, cpu=SERVER_CPU
                    )
                )
                servers.append((who, url, proc.pid))
            servers.append(
                ("sync peer", peer, stack.enter_context(server(peer_argv, peer + "/ready", cpu=SERVER_CPU)).pid)
            )
            token = write_key(base, env, ini)
            seed(base, token)
            headers = {"Authorization": f"Bearer {token}"}
            for _ in range(args.rounds):
                for name, method, path in ENDPOINTS:
                    for who, url, pid in servers:
                        load(url + path, method, headers, 1, args.connections, post_script)  # warm up
                        before = cpu_seconds(pid)
                        result = load(url + path, method, headers, args.seconds, args.connections, post_script)
                        result["cpu_us"] = (cpu_seconds(pid) - before) / max(result["requests"], 1) * 1e6
                        rows[(name, who)].append(result)
            profiles = (
                [
                    profile(
                        servers[0][2], base + path, method, headers, args.seconds, args.connections, post_script, name
                    )
                    for name, method, path in ENDPOINTS
                ]
                if args.profile
                else []
            )
    os.unlink(post_script)
    print(f"{'endpoint':24} {'server':16} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'CPU us/req':>10} {'errors':>7}")
    for (name, who), results in rows.items():
        mean = {key: sum(r[key] for r in results) / len(results) for key in ("rps", "p50_ms", "p99_ms", "cpu_us")}
        errors = sum(r["errors"] for r in results)
        print(
            f"{name:24} {who:16} {mean['rps']:8.0f} {mean['p50_ms']:7.2f} {mean['p99_ms']:7.2f} "
            f"{mean['cpu_us']:10.0f} {errors:7d}"
        )
    print()
    for name, _, _ in ENDPOINTS:
        theirs = sum(r["rps"] for r in rows[(name, "sync peer")]) / args.rounds
        for who in ("myapp", *(who for who, _ in VARIANTS)):
            ratio = sum(r["rps"] for r in rows[(name, who)]) / args.rounds / theirs
            print(f"{name:24} {who} / sync peer = {ratio:.2f}x   goal >= 1.0x: {'held' if ratio >= 1.0 else 'MISSED'}")
    for path in profiles:
        print("profile:", path)


if __name__ == "__main__":
    main()
