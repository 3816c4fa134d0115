"""The OpenAPI 3.1 document of the JSON API, made from what its views declare (``contract.py``).

Paths come from the routes, operations from the views' ``body``, ``query`` and
``responses``, schemas from their pydantic models (JSON Schema 2020-12, which OpenAPI
3.1 takes as it is).  The errors every operation may answer are added from what it
is: a body may be 400, 413 or 422; a query 422; a protected operation 401 and 403;
a path with an id 404; and any 503 or 504 when the database does not answer in time.
"""

import re

from pydantic.json_schema import models_json_schema
from pyramid.interfaces import IRoutesMapper

from ..services import find
from ..validation import Error
from .contract import Body, Operations, model_of

#: ``{name}`` or ``{name:regex}`` in a route pattern (a regex may hold one level of braces)
PLACEHOLDER = re.compile(r"\{(\w+)(?::((?:[^{}]|\{[^{}]*\})*))?\}")
REF = "#/components/schemas/{model}"

ERRORS = {
    400: "The request cannot be read: its body is not a JSON object, or a header or parameter is malformed.",
    401: "No valid credentials: send an API key as Authorization: Bearer <token>.",
    403: "The key may not do this (a read key writes, or the caller is not an admin).",
    404: "There is no such resource, or it belongs to someone else.",
    409: "The request conflicts with what exists (a limit is reached).",
    413: "The body is too large (64 KiB for most operations).",
    422: "Some fields or parameters are not valid: `fields` names each with its problem.",
    429: "Too many attempts: wait as long as Retry-After says.",
    503: "The database or the server is not available right now: retry after Retry-After seconds.",
    504: "The request took longer than its deadline.",
}
SUCCESS = {200: "OK", 201: "Created", 204: "Done; no body."}


def openapi_path(pattern):
    """``/api/monitors/{monitor_id}`` and its path parameters, from a Pyramid route pattern."""
    parameters = []

    def placeholder(match):
        name, regex = match.group(1), match.group(2)
        schema = {"type": "string"}
        if regex:
            schema["pattern"] = f"^{regex}$"
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
        return f"{{{name}}}"

    return PLACEHOLDER.sub(placeholder, pattern), parameters


def query_parameters(model):
    """The parameters of a query model; "or null" is dropped, since a query string cannot say null."""
    schema = model.model_json_schema(ref_template=REF)
    required = set(schema.get("required", ()))
    parameters = []
    for name, prop in schema["properties"].items():
        choices = [c for c in prop.get("anyOf", ()) if c != {"type": "null"}]
        if len(choices) == 1:
            prop = {**{k: v for k, v in prop.items() if k != "anyOf"}, **choices[0]}
        if prop.get("default", 0) is None:
            prop = {k: v for k, v in prop.items() if k != "default"}
        parameters.append(
            {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": prop,
                **({"description": prop["description"]} if "description" in prop else {}),
            }
        )
    return parameters


def partial(schema):
    """A model's schema with nothing required: the body of a PATCH."""
    schema = dict(schema)
    schema.pop("required", None)
    schema["title"] = f"{schema.get('title', 'Fields')}Change"
    schema["description"] = "Any of the fields; the result is checked as a whole."
    return schema


def error_statuses(operation, path_parameters):
    statuses = set()
    if operation.body is not None:
        statuses |= {400, 413, 422}
    if operation.query is not None:
        statuses.add(422)
    if not operation.public:
        statuses |= {401, 403}
    if path_parameters:
        statuses.add(404)
    return statuses | {503, 504}


def build(registry, info=None):
    """The document, as a dict ready for JSON."""
    mapper = registry.getUtility(IRoutesMapper)
    operations = sorted(find(registry, Operations), key=lambda op: (mapper.get_route(op.route_name).pattern, op.method))
    models = {Error}
    for operation in operations:
        models.update(model_of(answer) for answer in operation.responses.values() if model_of(answer) is not None)
    bodies = {model_of(op.body) for op in operations if op.body is not None}
    keys = [(m, "serialization") for m in sorted(models, key=lambda m: m.__name__)]
    keys += [(m, "validation") for m in sorted(bodies, key=lambda m: m.__name__)]
    refs, definitions = models_json_schema(keys, ref_template=REF)
    schemas = dict(definitions.get("$defs", {}))

    def ref(model, mode):
        return refs[(model, mode)]

    paths = {}
    for operation in operations:
        path, path_parameters = openapi_path(mapper.get_route(operation.route_name).pattern)
        item = paths.setdefault(path, {})
        if path_parameters:
            item["parameters"] = path_parameters
        doc = (operation.view.__doc__ or "").strip()
        entry = {
            "operationId": operation.view.__name__,
            "summary": doc.split("\n")[0] if doc else operation.view.__name__.replace("_", " "),
            "tags": [path.split("/")[2] if path.count("/") > 1 else "api"],
            "security": [] if operation.public else [{"apiKey": []}],
        }
        if operation.query is not None:
            entry["parameters"] = query_parameters(operation.query)
        if operation.body is not None:
            body = operation.body
            if body.partial:
                name = body.model.__name__ + "Change"
                schemas[name] = partial(schemas[refs[(body.model, "validation")]["$ref"].split("/")[-1]])
                body_schema = {"$ref": REF.format(model=name)}
            else:
                body_schema = ref(body.model, "validation")
            entry["requestBody"] = {
                "required": True,
                "content": {kind: {"schema": body_schema} for kind in body.media_types},
            }
        responses = {}
        for status, answer in sorted(operation.responses.items()):
            described = SUCCESS.get(status) or ERRORS.get(status, "")
            responses[str(status)] = {"description": described}
            if isinstance(answer, str):
                responses[str(status)]["content"] = {answer: {"schema": {"type": "string"}}}
            elif answer is not None:
                kinds = answer.media_types if isinstance(answer, Body) else ("application/json",)
                responses[str(status)]["content"] = {
                    kind: {"schema": ref(model_of(answer), "serialization")} for kind in kinds
                }
        for status in sorted(error_statuses(operation, path_parameters) - set(operation.responses)):
            responses[str(status)] = {
                "description": ERRORS[status],
                "content": {"application/json": {"schema": ref(Error, "serialization")}},
            }
        entry["responses"] = responses
        item[operation.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "myapp",
            "version": info or "1",
            "description": (
                "HTTP endpoint monitoring. Every error is JSON: "
                '`{"error", "message", "fields", "request_id"}`. '
                "Lists are paged: pass the `next_cursor` of a page as `cursor` to get the next."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key: POST /api/tokens with your email and password, or make one on /account.",
                }
            },
        },
    }
