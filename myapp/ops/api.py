"""The site's own endpoints: /api/health for load balancers and people, /metrics for Prometheus, and
/api/openapi.json, the API's description made from its views' declarations (myapp.api)."""

import ipaddress
from typing import Literal

from prometheus_client.exposition import choose_encoder
from pydantic import BaseModel, ConfigDict, Field
from pyramid.httpexceptions import HTTPUnauthorized
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config
from sqlalchemy import func, select

from ..api import document
from ..checks import Monitoring
from ..checks.pings import Pinger
from ..models import Monitor
from ..models.monitor import STATES
from ..services import find
from ..validation import Reply
from . import OpsSettings
from .health import check_database, database_ok, has_metrics_token, loop_stats, may_see_details
from .metrics import Metrics

HEALTH_DEADLINE = 1.8


def may_scrape(request):
    if has_metrics_token(request):
        return True
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in find(request.registry, OpsSettings).metrics_allow)


@view_config(route_name="metrics", request_method="GET", permission=NO_PERMISSION_REQUIRED)
async def metrics(request):
    if not may_scrape(request):
        raise HTTPUnauthorized(
            "Scrape with 'Authorization: Bearer <metrics.token>', or from an address in metrics.allow.",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    counts = dict((await request.dbsession.execute(select(Monitor.state, func.count()).group_by(Monitor.state))).all())
    find(request.registry, Metrics).monitors = {state: counts.get(state, 0) for state in STATES}
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))  # text, or OpenMetrics if asked
    response = Response(encode(find(request.registry, Metrics).registry))
    response.headers["Content-Type"] = content_type
    return response


class Health(Reply):
    status: Literal["ok", "unavailable"]
    database: dict | None = Field(None, description="for admins and the metrics token: reachable, latency, schema")
    runtime: dict | None = Field(None, description="for admins and the metrics token: event loops and pools")
    scheduler: dict | None = Field(None, description="for admins and the metrics token: checks claimed and done")
    pings: dict | None = Field(None, description="for admins and the metrics token: heartbeats' pings written")


@view_config(
    route_name="api.health",
    renderer="json",
    request_method="GET",
    permission=NO_PERMISSION_REQUIRED,
    async_timeout=HEALTH_DEADLINE,
    responses={200: Health, 503: Health},
)
async def health(request):
    """200 {"status": "ok"} or 503 {"status": "unavailable"}; with the details for those who may see them."""
    database = await check_database(request)
    ok = database_ok(database)
    body = {"status": "ok" if ok else "unavailable"}
    if not ok:
        request.response.status = 503
        request.response.headers["Retry-After"] = "5"
    if await may_see_details(request, database):
        body.update(
            database=database,
            runtime=loop_stats(request),
            scheduler=find(request.registry, Monitoring).scheduler.stats(),
            pings=find(request.registry, Pinger).stats(),
        )
    return body


class ApiDocument(dict):
    """The OpenAPI document of this application, made on its first request."""


class OpenAPIDocument(BaseModel):
    """An OpenAPI 3.1 document (this one)."""

    model_config = ConfigDict(extra="allow")

    openapi: str
    info: dict
    paths: dict
    components: dict


@view_config(
    route_name="api.openapi",
    request_method="GET",
    renderer="json",
    permission=NO_PERMISSION_REQUIRED,
    responses={200: OpenAPIDocument},
)
def openapi(request):
    """This document: every operation of the JSON API, its parameters, bodies and answers."""
    registry = request.registry  # made once: the views do not change while serving
    return find(registry, ApiDocument, lambda: ApiDocument(document.build(registry)))
