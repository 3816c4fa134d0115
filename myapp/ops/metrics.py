"""Prometheus metrics at ``/metrics``, in prometheus_client's text format.

Each process counts for itself, in a registry of its own: scrape every process (each
pserve listens on its own port) and let Prometheus add them up, e.g.
``sum by (route) (rate(myapp_http_requests_total[5m]))``.  Nothing here needs
prometheus_client's multiprocess mode, which is for servers that fork workers.

Who may scrape: see ops.OpsSettings (``metrics.token``, ``metrics.allow``).
"""

import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from ..alerts.outbox import Outbox
from ..checks import Monitoring
from ..checks.pings import Pinger
from ..models.engine import engines
from ..services import find

METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    """This process's metrics: what is counted as it happens, and what is read when scraped."""

    def __init__(self, registry):
        self.app = registry  # the Pyramid registry: the scheduler, the outbox, the pinger and the runtime
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "myapp_http_requests",
            "HTTP requests answered, by route, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "myapp_http_request_duration_seconds",
            "Time to answer a request, by route.",
            ["route"],
            buckets=SECONDS,
            registry=self.registry,
        )
        self.checks = Counter(
            "myapp_checks", "Checks run by this process's scheduler, by outcome.", ["outcome"], registry=self.registry
        )
        self.check_latency = Histogram(
            "myapp_check_latency_seconds",
            "How long the checked servers took to answer.",
            buckets=SECONDS,
            registry=self.registry,
        )
        self.retries = Counter(
            "myapp_http_request_retries",
            "Requests run again because their transaction lost to another (a deadlock, a Galera conflict).",
            registry=self.registry,
        )
        self.monitors = {}  # state -> count, read from the database at each scrape
        self.registry.register(Collector(self))

    def on_retry(self, event):
        self.retries.inc()

    def observe_check(self, result):
        self.checks.labels("degraded" if result.ok and result.slow else "up" if result.ok else "down").inc()
        self.check_latency.observe(result.latency_ms / 1000)


class Collector:
    """What is read at scrape time: monitors by state, the scheduler, the outbox, loops and pools."""

    def __init__(self, metrics):
        self.metrics = metrics

    def collect(self):
        registry = self.metrics.app
        states = GaugeMetricFamily("myapp_monitors", "Monitors by state (all users).", labels=["state"])
        for state, count in sorted(self.metrics.monitors.items()):
            states.add_metric([state], count)
        yield states
        stats = find(registry, Monitoring).scheduler.stats()
        late = GaugeMetricFamily(
            "myapp_scheduler_lateness_seconds",
            "How late checks started (start - due), over the latest 10,000 checks.",
            labels=["quantile"],
        )
        for quantile in ("p50", "p99", "max"):
            if stats["lateness_ms"][quantile] is not None:
                late.add_metric(
                    [quantile.removeprefix("p").replace("50", "0.5").replace("99", "0.99")],
                    stats["lateness_ms"][quantile] / 1000,
                )
        yield late
        yield GaugeMetricFamily("myapp_scheduler_in_flight", "Checks in flight.", value=stats["in_flight"])
        yield CounterMetricFamily(
            "myapp_scheduler_storms", "Groups of failures checked again as a storm.", value=stats["storms"]
        )
        yield CounterMetricFamily(
            "myapp_scheduler_results_lost", "Results that could not be written.", value=stats["results_lost"]
        )
        outbox = find(registry, Outbox)
        lost = CounterMetricFamily(
            "myapp_db_conflicts",
            "Background transactions that lost to another process's and were left to it or tried again.",
            labels=["task"],
        )
        for task, counted in (
            ("scheduler", stats["conflicts"]),
            ("outbox", outbox.conflicts),
            ("pings", find(registry, Pinger).conflicts),
        ):
            lost.add_metric([task], counted)
        yield lost
        deliveries = CounterMetricFamily(
            "myapp_delivery_attempts", "Alert delivery attempts by outcome.", labels=["outcome"]
        )
        deliveries.add_metric(["sent"], outbox.sent)
        deliveries.add_metric(["failed"], outbox.failed_attempts)
        yield deliveries
        loops = GaugeMetricFamily("myapp_event_loops", "Event loops of this process, by role.", labels=["role"])
        pools = GaugeMetricFamily(
            "myapp_db_connections",
            "Database connections of each loop's pools (write: units of work; read: GET requests).",
            labels=["loop", "pool", "state"],
        )
        roles = {}
        for role, thread, state in registry.aio_runtime.loop_states():
            roles[role] = roles.get(role, 0) + 1
            for name, engine in engines(state):
                if hasattr(engine.pool, "checkedout"):
                    pools.add_metric([thread, name, "checked_out"], engine.pool.checkedout())
                    pools.add_metric([thread, name, "checked_in"], engine.pool.checkedin())
        for role, count in sorted(roles.items()):
            loops.add_metric([role], count)
        yield loops
        yield pools


def metrics_tween_factory(handler, registry):
    """Counts every answer (error pages included) by route name: a bounded set of labels."""
    metrics = find(registry, Metrics)

    def metrics_tween(request):
        started = time.perf_counter()
        response = handler(request)
        route = request.matched_route.name if request.matched_route is not None else "(none)"
        method = request.method if request.method in METHODS else "other"
        metrics.requests.labels(route, method, str(response.status_code)).inc()
        metrics.duration.labels(route).observe(time.perf_counter() - started)
        return response

    return metrics_tween
