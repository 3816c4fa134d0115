"""/metrics: Prometheus's text format, parsed back with prometheus_client; who may scrape."""

from prometheus_client.parser import text_string_to_metric_families

from ..helpers import wait_until
from ..monitors.conftest import new_monitor

TOKEN = "metrics-token-0123456789"
SCRAPE = {"Authorization": f"Bearer {TOKEN}"}


def samples(client, headers=SCRAPE):
    res = client.get("/metrics", headers=headers)
    assert res.content_type == "text/plain"
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(res.text)
        for s in family.samples
    }


def value(found, name, **labels):
    return found.get((name, tuple(sorted(labels.items()))))


def test_only_the_token_or_an_allowed_address_may_scrape(make_myapp):
    client = make_myapp(**{"metrics.token": TOKEN, "metrics.allow": "10.1.0.0/16"})
    refused = client.get("/metrics", status=401)
    assert "metrics.token" in refused.text and refused.headers["WWW-Authenticate"].startswith("Bearer")
    client.get("/metrics", headers={"Authorization": "Bearer wrong"}, status=401)
    client.get("/metrics", extra_environ={"REMOTE_ADDR": "10.2.0.1"}, status=401)
    client.get("/metrics", extra_environ={"REMOTE_ADDR": "10.1.200.3"}, status=200)
    client.get("/metrics", headers=SCRAPE, status=200)
    make_myapp().get("/metrics", headers=SCRAPE, status=401)  # no token set: no token is right


def test_requests_monitors_loops_and_pools_are_counted(make_myapp, owner, target):
    client = make_myapp(**{"metrics.token": TOKEN})
    auth = owner[1]
    for n in range(3):
        new_monitor(client, auth, name=f"m{n}", url=target.url + "/ok")
    client.get("/api/monitors", headers=auth)
    client.get("/no/such/page", status=404)
    found = samples(client)
    assert value(found, "myapp_http_requests_total", route="api.monitors", method="POST", status="201") == 3
    assert value(found, "myapp_http_requests_total", route="api.monitors", method="GET", status="200") == 1
    assert value(found, "myapp_http_requests_total", route="(none)", method="GET", status="404") == 1
    assert value(found, "myapp_http_request_duration_seconds_count", route="api.monitors") == 4
    assert value(found, "myapp_monitors", state="PENDING") == 3 and value(found, "myapp_monitors", state="DOWN") == 0
    assert value(found, "myapp_event_loops", role="worker") >= 1 and value(found, "myapp_event_loops", role="service")
    assert any(name == "myapp_db_connections" for name, _ in found)
    assert value(found, "myapp_delivery_attempts_total", outcome="sent") == 0


def test_the_schedulers_checks_are_counted(make_myapp, owner, target):
    client = make_myapp(**{"metrics.token": TOKEN, "monitors.scheduler": "true"})
    new_monitor(client, owner[1], url=target.url + "/ok", interval=1)
    new_monitor(client, owner[1], url=target.url + "/status/500", interval=1)
    found = wait_until(
        lambda: (
            lambda f: (
                f
                if value(f, "myapp_checks_total", outcome="up") and value(f, "myapp_checks_total", outcome="down")
                else None
            )
        )(samples(client))
    )
    assert value(found, "myapp_check_latency_seconds_count") >= 2
    assert value(found, "myapp_scheduler_lateness_seconds", quantile="0.99") is not None
