"""Schemathesis against the live API, from its own document: no 5xx, every answer as documented.

Each operation gets cases that fit the document (positive) and cases that break it
(negative: which must be refused with a 4xx), as a user with a write key, with the
ids in paths pointing at that user's real monitor, channel and window (except for
DELETE, which would remove them).  Left out: the three operations that fetch URLs
(check now, the probe, a channel's test), which would make the server fetch whatever
the fuzzer writes; they have their own tests against local servers.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from myapp.alerts import service as alerts
from myapp.monitors import maintenance, service
from myapp.monitors.schema import MonitorFields

from ..conftest import in_app

EXAMPLES = 25  # per operation and mode; the run prints how many cases it made
LEAST = 1000
FETCHES = {"check_now", "probe", "test_channel"}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection]


@pytest.fixture
def world(app, serve, make_user, make_key):
    user = make_user("fuzz@example.com")
    token = make_key(user, "write")[1]
    spare_key = make_key(user, "read")[0]

    async def create(session):
        monitor = await service.create_monitor(session, user, MonitorFields(name="fuzzed", url="http://127.0.0.1:9/")
                                               .model_dump(), 1000)
        channel = await alerts.create_channel(session, user, {"name": "hook", "kind": "webhook",
                                                              "target": "http://127.0.0.1:9/hook", "secret": None,
                                                              "slack": False})
        window = await maintenance.create_window(session, user, maintenance.validate(
            {"name": "nightly", "kind": "once", "starts_at": "2030-01-01T00:00:00Z", "ends_at": "2030-01-01T01:00:00Z"}))
        return {"monitor_id": str(monitor.id), "channel_id": str(channel.id), "window_id": str(window.id),
                "key_id": str(spare_key)}

    ids = in_app(app, create)
    return serve(app, threads=2), token, ids


def test_the_live_api_holds_to_its_document(world, testapp, capsys):
    base_url, token, ids = world
    config = SchemathesisConfig.from_dict({"auth": {"openapi": {"apiKey": {"bearer": token}}}})
    schema = schemathesis.openapi.from_dict(testapp.get("/api/openapi.json").json, config=config)
    cases = 0
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.definition.raw["operationId"] in FETCHES:
            continue
        operations += 1
        names = {p["name"] for p in operation.definition.raw.get("parameters", [])} | {
            p["name"] for p in schema.raw_schema["paths"][operation.path].get("parameters", [])}
        fixed = {} if operation.method.upper() == "DELETE" else {n: ids[n] for n in names if n in ids}
        strategy = (operation.as_strategy(GenerationMode.POSITIVE, path_parameters=fixed)
                    | operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=fixed))

        @settings(max_examples=2 * EXAMPLES, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=strategy)
        def run(case):
            nonlocal cases
            cases += 1
            case.call_and_validate(base_url=base_url, checks=CHECKS, timeout=30)

        run()
    with capsys.disabled():
        print(f"\nschemathesis: {cases} cases over {operations} operations")
    assert operations >= 25
    assert cases >= LEAST
