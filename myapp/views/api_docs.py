"""The API's own description: the OpenAPI document and the explorer that reads it."""

from pydantic import BaseModel, ConfigDict
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from ..api import document


class OpenAPIDocument(BaseModel):
    """An OpenAPI 3.1 document (this one)."""

    model_config = ConfigDict(extra="allow")

    openapi: str
    info: dict
    paths: dict
    components: dict


@view_config(route_name="api.openapi", request_method="GET", renderer="json", permission=NO_PERMISSION_REQUIRED,
             responses={200: OpenAPIDocument})
def openapi(request):
    """This document: every operation of the JSON API, its parameters, bodies and answers."""
    registry = request.registry
    if "api_document" not in registry.__dict__:  # made once: the views do not change while serving
        registry.api_document = document.build(registry)
    return registry.api_document


@view_config(route_name="api.docs", request_method="GET", renderer="myapp:templates/api_docs.jinja2",
             permission=NO_PERMISSION_REQUIRED, responses={200: "text/html"})
def explorer(request):
    """The explorer: read the operations and try them with an API key, in the browser."""
    return {}
