"""The scheduler on a three-node Galera cluster against the same on one plain MariaDB, in one run.

    python -m bench.galera [--monitors 30000] [--interval 60] [--processes 3] [--rounds 1]

Three set-ups, each measured as bench.scheduler measures one (a warm-up interval, then ``--rounds``):

- **plain**: the processes share one MariaDB of the bench's own (tests/faults/mariadb.py: a temporary data
  directory, a free port), never the server on 3306, whose CPU is measured alone;
- **multi-writer**: a private three-node cluster (tests/galera/cluster.py), process n on node n, every node
  taking writes: claims made on two nodes at once are settled by the cluster (one loses: "conflicts");
- **single-writer**: the same cluster, every process on node 1, the others standing by (what a proxy such
  as HAProxy with one active server and two backups gives).

For each: checks/s against those needed, missed and doubled checks, lateness p99, the processes' CPU per
check, and the database servers' CPU per check (every Galera node applies every write).
"""

import tempfile

from tests.faults.mariadb import PrivateMariaDB
from tests.galera.cluster import Cluster

from .common import BENCH_DB
from .scheduler import arguments, measure, report


def main(argv=None):
    args = arguments(argv, monitors=30000, processes=3, rounds=1)
    results = {}
    plain = PrivateMariaDB(tempfile.mkdtemp(prefix="myapp-bench-"), database=BENCH_DB).install()
    try:
        results["plain"] = measure(args, (plain.port,), [plain.process.pid])
    finally:
        plain.stop()
    cluster = Cluster(database="myapp_bench").start()
    try:
        pids = [node.process.pid for node in cluster.nodes]
        results["multi-writer"] = measure(args, [node.port for node in cluster.nodes], pids)
        results["single-writer"] = measure(args, [cluster.nodes[0].port], pids)
    finally:
        cluster.stop()
    for name, result in results.items():
        print(f"\n== {name}")
        report(args, result)
    print(f"\nGalera: {args.monitors} monitors every {args.interval} s over {args.processes} processes")
    print("  set-up          checks/s  missed  twice  lateness p99 ms  app CPU us/check  db CPU us/check  conflicts")
    for name, r in results.items():
        checks = max(r["in_window"], 1)
        late = max((s["lateness_ms"]["p99"] or 0) for s in r["stats"])
        conflicts = sum(s.get("conflicts", 0) for s in r["stats"])
        print(
            f"  {name:14s} {r['in_window'] / r['wall']:9.1f} {r['missed'] + r['never']:7d} {r['twice']:6d}"
            f" {late:16.1f} {r['cpu'] / checks * 1e6:17.0f} {r['db_cpu'] / checks * 1e6:16.0f} {conflicts:10d}"
        )


if __name__ == "__main__":
    main()
