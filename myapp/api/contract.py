"""What a JSON API view takes and gives, declared on its ``view_config`` and enforced here.

    @view_config(route_name="api.monitors", request_method="POST", renderer="json", permission="edit",
                 body=MonitorBody, responses={201: Monitor})

``body`` (a pydantic model, or ``Patch(model)``) and ``query`` (a pydantic model of the
query string) are validated before the view runs, which finds the clean values in
``request.api_body`` and ``request.api_query``; a bad request never reaches it: 400 for
a body that is not a JSON object, 413 when too large, 422 with one message per bad
field.  ``responses`` maps each status the view returns to its model (None: no body; a media
type such as "text/html": a page).
The same declarations make the OpenAPI document (``document.py``), so the two cannot
drift apart; with ``api.check_responses = true`` (the tests) every answer is checked
against its declared model too.
"""

import json
from dataclasses import dataclass, field

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError
from pyramid.exceptions import ConfigurationError
from pyramid.security import NO_PERMISSION_REQUIRED

from ..services import find
from ..settings import Field, Section
from ..validation import (
    MAX_JSON_BODY,
    YAML_TYPES,
    Invalid,
    fields_of,
    json_object,
    parse_query,
    paths_of,
    validation_context,
)


class Body:
    """A body of ``model`` (a request's, or an answer's): JSON, or YAML too when ``yaml``; at most ``limit``
    bytes; ``partial``: any of its fields, none required (the view checks the merged whole)."""

    def __init__(self, model, partial=False, limit=MAX_JSON_BODY, yaml=False, paths=False):
        self.model, self.partial, self.limit, self.yaml = model, partial, limit, yaml
        self.paths = paths  # name a bad field by its whole path (monitors.3.url): for long documents

    @property
    def media_types(self):
        return ("application/json", *YAML_TYPES[:1]) if self.yaml else ("application/json",)


def Patch(model):  # noqa: N802 (reads as a type in view_config)
    return Body(model, partial=True)


def model_of(value):
    """The pydantic model a body or answer declaration describes, or None."""
    value = value.model if isinstance(value, Body) else value
    return value if is_model(value) else None


@dataclass
class Operation:
    route_name: str
    method: str
    view: object
    body: Body | None = None
    query: type[BaseModel] | None = None
    responses: dict = field(default_factory=dict)
    public: bool = False


class ResponseBroken(Exception):
    """A response that is not what its operation declares (raised only with api.check_responses)."""


def is_model(value):
    return isinstance(value, type) and issubclass(value, BaseModel)


def read_only_of(operation):
    """Fields the operation's answers show but its body does not take: sending one is 'read-only'."""
    names = set()
    for answer in operation.responses.values():
        if model_of(answer) is not None:
            names.update(model_of(answer).model_fields)
    return names


def validated_body(request, body, operation):
    data = json_object(request, body.limit, body.yaml)
    model = body.model
    if body.partial:
        unknown = set(data) - set(model.model_fields)
        if unknown:
            read_only = read_only_of(operation)
            raise Invalid({name: "read-only" if name in read_only else "unknown field" for name in sorted(unknown)})
        return data
    try:
        return model.model_validate(data, context=validation_context(request.registry))
    except ValidationError as exc:
        raise Invalid(paths_of(exc) if body.paths else fields_of(exc, read_only_of(operation))) from None


class ApiSettings(Section):
    check_responses: bool = Field(False, alias="api.check_responses")


class Operations(list):
    """Every operation of the API, as its views are added (api.document makes the OpenAPI document of them)."""


def contract_view(view, info):
    options = info.options
    responses = options.get("responses")
    if responses is None:
        return view
    method, body = options.get("request_method"), options.get("body")
    if not isinstance(method, str):
        raise ConfigurationError(f"{info.original_view.__name__}: an API view answers one request_method")
    operation = Operation(
        route_name=options["route_name"],
        method=method,
        view=info.original_view,
        body=body if body is None or isinstance(body, Body) else Body(body),
        query=options.get("query"),
        responses=responses,
        public=options.get("permission") is NO_PERMISSION_REQUIRED,
    )
    find(info.registry, Operations).append(operation)
    body, query = operation.body, operation.query
    check = find(info.registry, ApiSettings).check_responses
    adapters = {
        status: TypeAdapter(model_of(answer)) for status, answer in responses.items() if model_of(answer) is not None
    }

    def contract(context, request):
        if query is not None:
            request.api_query = parse_query(request.GET, query)
        if body is not None:
            request.api_body = validated_body(request, body, operation)
        response = view(context, request)
        if check:
            check_response(operation, adapters, response)
        return response

    return contract


contract_view.options = ("body", "query", "responses")


def check_response(operation, adapters, response):
    status = response.status_int
    if status not in operation.responses:
        raise ResponseBroken(f"{operation.method} {operation.route_name} answered {status}, which it does not declare")
    adapter = adapters.get(status)
    if isinstance(operation.responses[status], str):  # a media type: a page
        return
    if adapter is None:
        if response.body:
            raise ResponseBroken(f"{operation.method} {operation.route_name} {status} declares no body but sent one")
        return
    try:
        content = yaml.safe_load(response.body) if response.content_type in YAML_TYPES else json.loads(response.body)
        adapter.validate_python(content, strict=False)
    except ValidationError as exc:
        raise ResponseBroken(f"{operation.method} {operation.route_name} {status}: {exc}") from None


def created(request, route, **ids):
    """Answer 201 Created, with the new resource's address (``route`` with ``ids``) as its Location."""
    request.response.status = 201
    request.response.headers["Location"] = request.route_url(route, **ids)


def page_of(name, items, next_cursor):
    """A page of a list as the API gives it: ``{name: items, "next_cursor": the next page's cursor or null}``."""
    return {name: items, "next_cursor": str(next_cursor) if next_cursor else None}
