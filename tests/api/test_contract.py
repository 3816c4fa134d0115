"""The JSON API's contract: the OpenAPI document is valid, describes every route and nothing more, and
requests and answers are held to it."""

import re

import pytest
from openapi_spec_validator import validate
from pydantic import BaseModel
from pyramid.config import Configurator
from pyramid.interfaces import IRoutesMapper
from webtest import TestApp

from myapp.api.contract import ResponseBroken

METHODS = {"get", "post", "put", "patch", "delete", "head", "options"}


def test_the_document_is_valid_openapi_3_1(testapp):
    res = testapp.get("/api/openapi.json")
    assert res.content_type == "application/json"
    validate(res.json)  # raises on anything that is not OpenAPI 3.1
    assert res.json["openapi"] == "3.1.0"


def served_operations(app):
    """(path as OpenAPI writes it, METHOD) of every view on a route under /api, read from Pyramid itself."""
    mapper = app.registry.getUtility(IRoutesMapper)
    served = set()
    for item in app.registry.introspector.get_category("views"):
        view = item["introspectable"]
        if view["route_name"] is None:
            continue
        pattern = mapper.get_route(view["route_name"]).pattern
        if not pattern.startswith("/api"):
            continue
        methods = view["request_methods"]
        assert methods, f"the view of {pattern} takes any method: say which"
        for method in [methods] if isinstance(methods, str) else methods:
            served.add((re.sub(r"\{(\w+)[^/]*\}", r"{\1}", pattern), method))
    return served


def test_every_api_route_is_documented_and_every_documented_operation_is_served(app, testapp):
    document = testapp.get("/api/openapi.json").json
    documented = {
        (path, method.upper()) for path, item in document["paths"].items() for method in item if method in METHODS
    }
    served = served_operations(app)
    assert served - documented == set(), "served but not documented"
    assert documented - served == set(), "documented but not served"
    assert len(served) >= 30


def test_every_operation_documents_its_answers_and_errors(testapp):
    document = testapp.get("/api/openapi.json").json
    ids = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            ids.append(operation["operationId"])
            responses = operation["responses"]
            assert any(code.startswith("2") for code in responses), (method, path)
            assert {"503", "504"} <= set(responses), (method, path)
            if operation["security"]:
                assert {"401", "403"} <= set(responses), (method, path)
            if "{" in path:
                assert "404" in responses, (method, path)
            if "requestBody" in operation:
                assert {"400", "413", "422"} <= set(responses), (method, path)
            for code, response in responses.items():
                if code != "204":
                    assert response["content"], (method, path, code)
                if code.startswith(("4", "5")) and method != "get" or code in ("401", "404", "422"):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema["$ref"] in ("#/components/schemas/Error", "#/components/schemas/Health"), (
                        method,
                        path,
                        code,
                    )
    assert len(ids) == len(set(ids)), "operationIds are unique"
    error = document["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"error", "message", "fields", "request_id"}


def test_a_patch_takes_any_field_and_a_post_requires_some(testapp):
    document = testapp.get("/api/openapi.json").json
    schemas = document["components"]["schemas"]
    post = document["paths"]["/api/monitors"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    patch = document["paths"]["/api/monitors/{monitor_id}"]["patch"]["requestBody"]["content"]["application/json"]
    created = schemas[post["$ref"].split("/")[-1]]
    changed = schemas[patch["schema"]["$ref"].split("/")[-1]]
    assert set(created["required"]) == {"name"}  # and what the kind requires: url, host and port are said so
    assert created["properties"]["url"]["description"].startswith("HTTP: ")
    assert "required" not in changed and set(changed["properties"]) == set(created["properties"])
    assert "channels" in created["properties"] and "id" not in created["properties"]


def test_query_parameters_are_documented_and_checked(testapp, make_user, make_key):
    document = testapp.get("/api/openapi.json").json
    parameters = {p["name"]: p for p in document["paths"]["/api/monitors"]["get"]["parameters"]}
    assert set(parameters) == {"limit", "cursor", "state", "q", "tag"}
    assert parameters["limit"]["schema"]["maximum"] == 100
    token = make_key(make_user("ada@example.com"), "read")[1]
    res = testapp.get(
        "/api/monitors?limit=0&state=nope&colour=red&cursor=x", headers={"Authorization": f"Bearer {token}"}, status=422
    )
    assert set(res.json["fields"]) == {"limit", "state", "colour", "cursor"}
    assert res.json["fields"]["colour"] == "unknown parameter"
    res = testapp.get("/api/monitors?limit=1&limit=2", headers={"Authorization": f"Bearer {token}"}, status=422)
    assert set(res.json["fields"]) == {"limit"}
    assert testapp.get("/api/monitors?state=up&cursor=", headers={"Authorization": f"Bearer {token}"}).json == {
        "monitors": [],
        "next_cursor": None,
    }


class Thing(BaseModel):
    size: int


def small_app(answer, calls=None):
    """An app of one API view that answers ``answer`` and declares Thing, with answers checked."""
    calls = [] if calls is None else calls
    with Configurator(settings={"api.check_responses": "true"}) as config:
        config.include("myapp.api")
        config.add_route("api.thing", "/api/thing")
        config.add_view(
            lambda request: answer,
            route_name="api.thing",
            request_method="GET",
            renderer="json",
            responses={200: Thing},
        )
        config.add_view(
            lambda request: calls.append(request.api_body) or {"size": 1},
            route_name="api.thing",
            request_method="POST",
            renderer="json",
            body=Thing,
            responses={201: Thing},
        )
        return TestApp(config.make_wsgi_app())


def test_an_answer_that_breaks_its_declaration_fails_loudly_when_checked():
    assert small_app({"size": 3}).get("/api/thing").json == {"size": 3}
    with pytest.raises(ResponseBroken, match="size"):
        small_app({"size": "three"}).get("/api/thing")
    with pytest.raises(ResponseBroken, match="answered 200, which it does not declare"):
        small_app({"size": 1}).post_json("/api/thing", {"size": 1})  # declares 201, answers 200


def test_a_body_is_checked_before_the_view_runs():
    calls = []
    with pytest.raises(ResponseBroken):  # the view ran with a clean body, and answered 200 where it declares 201
        small_app({}, calls).post_json("/api/thing", {"size": 2})
    assert calls == [Thing(size=2)]
    small_app({}, calls).post_json("/api/thing", {"size": "x", "colour": 1}, status=422)
    assert len(calls) == 1
