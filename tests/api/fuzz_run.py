"""The schemathesis run of tests/api/test_fuzz_api.py, in a process of its own.

Hypothesis and schemathesis keep what they generated; in the suite's process those objects
made every later full garbage collection slower (185 ms instead of 82 ms here), long
enough to trip the suite's slow-callback check.  Run here, they go when the run ends.

    python -m tests.api.fuzz_run BASE_URL TOKEN IDS_JSON < openapi.json
"""

import json
import sys

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig

EXAMPLES = 25  # per operation and mode
#: what an invalid request may get: schemathesis's own list, and 413
REJECTED = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
FETCHES = {"check_now", "probe", "test_channel"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def fuzz(document, base_url, token, ids):
    """(cases, operations) run; raises on the first operation whose answers break the document."""
    config = SchemathesisConfig.from_dict(
        {
            "auth": {"openapi": {"apiKey": {"bearer": token}}},
            # a string one past its maxLength can make the whole body larger than the operation takes: 413 (declared)
            "checks": {"negative_data_rejection": {"expected-statuses": REJECTED}},
        }
    )
    schema = schemathesis.openapi.from_dict(document, config=config)
    cases = operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.definition.raw["operationId"] in FETCHES:
            continue
        operations += 1
        names = {p["name"] for p in operation.definition.raw.get("parameters", [])} | {
            p["name"] for p in schema.raw_schema["paths"][operation.path].get("parameters", [])
        }
        fixed = {} if operation.method.upper() == "DELETE" else {n: ids[n] for n in names if n in ids}
        strategy = operation.as_strategy(GenerationMode.POSITIVE, path_parameters=fixed) | operation.as_strategy(
            GenerationMode.NEGATIVE, path_parameters=fixed
        )

        @settings(
            max_examples=2 * EXAMPLES,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def run(case):
            nonlocal cases
            cases += 1
            case.call_and_validate(base_url=base_url, checks=CHECKS, timeout=30)

        run()
    return cases, operations


if __name__ == "__main__":
    cases, operations = fuzz(json.load(sys.stdin), sys.argv[1], sys.argv[2], json.loads(sys.argv[3]))
    print(json.dumps({"cases": cases, "operations": operations}))
