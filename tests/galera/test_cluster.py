"""myapp on a three-node Galera cluster, one process per node (every node takes writes): each due check runs
once, and what two nodes claim at once is settled by the cluster and handled as a lost claim, quietly."""

import concurrent.futures
import json
import time
import urllib.request

from ..conftest import pserve
from ..helpers import wait_until
from ..monitors.conftest import new_monitor
from .conftest import cluster_settings

INTERVAL = 2
MONITORS = 30
TOKEN = "metrics-token-0123456789"


def health(url):
    request = urllib.request.Request(url + "/api/health", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as res:
        return json.load(res)


def gaps_of(target, n, since, until):
    times = sorted(h["at"] for h in target.hits_on(f"/m/{n}") if since <= h["at"] <= until)
    return len(times), [later - earlier for earlier, later in zip(times, times[1:])]


def test_three_processes_on_three_nodes_check_each_monitor_once(cluster, galera_app, target, tmp_path):
    testapp, auth = galera_app
    for n in range(MONITORS):
        new_monitor(testapp, auth, name=f"m{n}", url=f"{target.url}/m/{n}", interval=INTERVAL, timeout=1)
    logs = [tmp_path / f"node{node.n}.log" for node in cluster.nodes]
    settings = [
        cluster_settings(node, **{"monitors.scheduler": "true", "metrics.token": TOKEN, "myapp.create_schema": "false"})
        for node in cluster.nodes
    ]
    with (
        pserve(tmp_path, settings[0], log=logs[0]) as (a, _),
        pserve(tmp_path, settings[1], log=logs[1]) as (b, _),
        pserve(tmp_path, settings[2], log=logs[2]) as (c, _),
    ):
        wait_until(lambda: all(target.hits_on(f"/m/{n}") for n in range(MONITORS)), timeout=30)
        started = time.monotonic()
        wait_until(lambda: time.monotonic() > started + 5 * INTERVAL, timeout=30)
        ended = time.monotonic()
        stats = [health(url)["scheduler"] for url in (a, b, c)]
    assert sum(1 for s in stats if s["checks"] > 0) >= 2, stats  # the nodes share the work
    for n in range(MONITORS):
        count, gaps = gaps_of(target, n, started, ended)
        assert min(gaps) > INTERVAL * 0.5, (n, gaps)  # never checked twice in one interval
        assert max(gaps) < INTERVAL * 1.5, (n, gaps)  # nor skipped
        assert 4 <= count <= 6, (n, count)
    conflicts = sum(s["conflicts"] for s in stats)
    text = "".join(log.read_text() for log in logs)
    assert "Traceback" not in text and "failed:" not in text, text[-3000:]
    print(f"\nclaims lost to another node: {conflicts} over {sum(s['checks'] for s in stats)} checks")


def test_pings_through_three_nodes_are_each_written_once(cluster, galera_app, tmp_path):
    """Heartbeats pinged through the three processes at once: the rows of one monitor are written from three
    nodes, conflicts are written again, and every ping is stored once."""
    testapp, auth = galera_app
    monitors = [new_monitor(testapp, auth, name=f"job{n}", kind="heartbeat", interval=600, grace=60) for n in range(5)]
    overrides = {"metrics.token": TOKEN, "myapp.create_schema": "false", "monitors.pings_per_minute": "1000"}
    settings = [cluster_settings(node, **overrides) for node in cluster.nodes]  # 60 a monitor, all processes
    logs = [tmp_path / f"process{n}.log" for n in range(3)]
    sent = 0
    with (
        pserve(tmp_path, settings[0], log=logs[0]) as (a, _),
        pserve(tmp_path, settings[1], log=logs[1]) as (b, _),
        pserve(tmp_path, settings[2], log=logs[2]) as (c, _),
        concurrent.futures.ThreadPoolExecutor(12) as pool,
    ):

        def ping(url, monitor):
            with urllib.request.urlopen(url + monitor["ping_url"].removeprefix("http://localhost"), timeout=30) as res:
                return res.read()

        for _ in range(20):  # each monitor pinged through each process at once, 20 times
            answers = list(pool.map(lambda job: ping(*job), [(u, m) for u in (a, b, c) for m in monitors]))
            assert answers == [b"OK\n"] * 15
            sent += 15
        wait_until(lambda: sum(health(url)["pings"]["written"] for url in (a, b, c)) >= sent, timeout=30)
        conflicts = sum(health(url)["pings"]["conflicts"] for url in (a, b, c))
    with cluster.nodes[0].connect() as conn, conn.cursor() as cursor:
        cursor.execute(f"SELECT monitor_id, COUNT(*) FROM {cluster.database}.pings GROUP BY monitor_id")
        stored = dict(cursor.fetchall())
    assert stored == {m["id"]: 60 for m in monitors}  # 3 processes x 20 rounds, none lost, none twice
    for monitor in monitors:
        assert testapp.get(f"/api/monitors/{monitor['id']}", headers=auth).json["state"] == "UP"
    said = "".join(log.read_text() for log in logs)
    assert "1213" not in said and "Traceback" not in said, said[-3000:]
    print(f"\npings: {sent} sent through three nodes, {conflicts} batches lost to another node and written again")
