"""myapp's own request paths under load: an API key read, the health check, a 404.

    python -m bench.app_paths [--seconds 5] [--connections 32] [--before PATH]

Serves production.ini (16 threads) on MariaDB, pinned to one CPU with wrk on the
other, and prints requests/s, latency and CPU per request for each path.  With
``--before`` (another checkout of myapp, e.g. ``git worktree add /tmp/before HEAD~5``)
the same paths of that tree run in the same session, alternating, for a before/after.
"""

import argparse
import json
import urllib.request

from .common import ROOT, cpu_seconds, free_port, mysql, production_app, script, server, wrk

SERVER_CPU, LOAD_CPU = 1, 0
PASSWORD = "bench password 0123456789"


def api_key(base, env, root, ini):
    script(root, env, "create_admin", ini, "--email", "bench@example.com", "--password-stdin", stdin=PASSWORD + "\n")
    body = json.dumps({"email": "bench@example.com", "password": PASSWORD, "scope": "read"}).encode()
    request = urllib.request.Request(base + "/api/tokens", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as res:
        return json.load(res)["token"]


def measure(root, label, args):
    port = free_port()
    with mysql() as conn, conn.cursor() as cur:  # each tree starts from its own schema
        cur.execute("DROP DATABASE IF EXISTS myapp_bench")
    results = []
    with production_app(port, root=root, **{"auth.argon2_time_cost": "1", "auth.argon2_memory_kib": "8192"}) as (
        ini,
        env,
    ):
        base = f"http://127.0.0.1:{port}"
        with server(["pserve", ini], base + "/api/health", env=env, cpu=SERVER_CPU) as proc:
            token = api_key(base, env, root, ini)
            paths = [
                ("users/me (key)", "/api/users/me", {"Authorization": f"Bearer {token}"}),
                ("health", "/api/health", {}),
                ("404", "/api/nothing", {}),
            ]
            for name, path, headers in paths:
                wrk(base + path, args.connections, 1, cpu=LOAD_CPU, headers=headers)  # warm up
                before = cpu_seconds(proc.pid)
                load = wrk(base + path, args.connections, args.seconds, cpu=LOAD_CPU, headers=headers)
                cpu = cpu_seconds(proc.pid) - before
                results.append(
                    {"tree": label, "path": name, **load, "cpu_us": round(cpu / max(load["requests"], 1) * 1e6)}
                )
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--before", help="another checkout of myapp to measure in the same run")
    args = parser.parse_args(argv)
    trees = [("before", args.before), ("after", ROOT)] if args.before else [("myapp", ROOT)]
    rows = []
    for _ in range(args.rounds):
        for label, root in trees:
            rows += measure(root, label, args)
    print(f"{'tree':8} {'path':16} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'CPU us/req':>11} {'non-2xx':>8}")
    for r in rows:
        print(
            f"{r['tree']:8} {r['path']:16} {r['rps']:9.1f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} "
            f"{r['cpu_us']:11d} {r['errors']:8d}"
        )


if __name__ == "__main__":
    main()
