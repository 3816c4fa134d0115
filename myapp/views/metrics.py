"""/metrics: Prometheus's text format, for the metrics token or the addresses of ``metrics.allow``."""

import ipaddress

from prometheus_client.exposition import choose_encoder
from pyramid.httpexceptions import HTTPUnauthorized
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config
from sqlalchemy import func, select

from ..models import Monitor
from ..models.monitor import STATES
from .health import has_metrics_token


def may_scrape(request):
    if has_metrics_token(request):
        return True
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in request.registry.metrics_allow)


@view_config(route_name="metrics", request_method="GET", permission=NO_PERMISSION_REQUIRED)
async def metrics(request):
    if not may_scrape(request):
        raise HTTPUnauthorized("Scrape with 'Authorization: Bearer <metrics.token>', or from an address in "
                               "metrics.allow.", headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    counts = dict((await request.dbsession.execute(select(Monitor.state, func.count()).group_by(Monitor.state))).all())
    request.registry.metrics.monitors = {state: counts.get(state, 0) for state in STATES}
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))  # text, or OpenMetrics if asked
    response = Response(encode(request.registry.metrics.registry))
    response.headers["Content-Type"] = content_type
    return response
