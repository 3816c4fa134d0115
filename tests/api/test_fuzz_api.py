"""Schemathesis against the live API, from its own document: no 5xx, every answer as documented.

Each operation gets cases that fit the document (positive) and cases that break it
(negative: which must be refused with a 4xx), as a user with a write key, with the
ids in paths pointing at that user's real monitor, channel and window (except for
DELETE, which would remove them).  Left out: the three operations that fetch URLs
(check now, the probe, a channel's test), which would make the server fetch whatever
the fuzzer writes; they have their own tests against local servers.
"""

import json
import os
import subprocess
import sys

import pytest

from myapp.alerts import service as alerts
from myapp.maintenance import schema as windows
from myapp.maintenance import service as maintenance
from myapp.monitors import service
from myapp.monitors.schema import MonitorFields
from myapp.status_pages import announcements
from myapp.status_pages import service as status_pages

from ..conftest import in_app

LEAST = 1000


@pytest.fixture
def world(app, serve, make_user, make_key):
    user = make_user("fuzz@example.com")
    token = make_key(user, "write")[1]
    spare_key = make_key(user, "read")[0]

    async def create(session):
        monitor = await service.create_monitor(
            session, user, MonitorFields(name="fuzzed", url="http://127.0.0.1:9/").model_dump(), 1000
        )
        channel = await alerts.create_channel(
            session,
            user,
            {"name": "hook", "kind": "webhook", "target": "http://127.0.0.1:9/hook", "secret": None, "slack": False},
        )
        window = await maintenance.create_window(
            session,
            user,
            windows.validate(
                {
                    "name": "nightly",
                    "kind": "once",
                    "starts_at": "2030-01-01T00:00:00Z",
                    "ends_at": "2030-01-01T01:00:00Z",
                }
            ),
        )
        page = await status_pages.save(
            session, user, {"title": "p", "slug": "fuzzed", "show_urls": False, "monitors": [monitor.id]}
        )
        told = await announcements.post(
            session, user, page, {"title": "t", "impact": "minor", "status": "update", "message": "m"}
        )
        return {
            "announcement_id": str(told.id),
            "monitor_id": str(monitor.id),
            "channel_id": str(channel.id),
            "window_id": str(window.id),
            "key_id": str(spare_key),
        }

    ids = in_app(app, create)
    return serve(app, threads=2), token, ids


def test_the_live_api_holds_to_its_document(world, testapp, capsys):
    base_url, token, ids = world
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    res = subprocess.run(
        [sys.executable, "-m", "tests.api.fuzz_run", base_url, token, json.dumps(ids)],
        input=testapp.get("/api/openapi.json").text,
        capture_output=True,
        text=True,
        cwd=root,
        timeout=600,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-6000:]
    run = json.loads(res.stdout.strip().splitlines()[-1])
    with capsys.disabled():
        print(f"\nschemathesis: {run['cases']} cases over {run['operations']} operations")
    assert run["operations"] >= 25
    assert run["cases"] >= LEAST
