"""The home page, and the API explorer (/api/docs: Swagger UI's files, served by us)."""

from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from .health import check_database


@view_config(
    route_name="home",
    renderer="myapp:ops/templates/ops/home.jinja2",
    request_method="GET",
    permission=NO_PERMISSION_REQUIRED,
)
async def home(request):
    """What myapp is, and where to start; admins also see the database and the event loops."""
    identity = request.identity
    if identity is None or identity.role != "admin":
        return {"database": None, "runtime": None}
    return {"database": await check_database(request), "runtime": request.registry.aio_runtime.stats()}


@view_config(
    route_name="api.docs",
    request_method="GET",
    renderer="myapp:ops/templates/ops/api_docs.jinja2",
    permission=NO_PERMISSION_REQUIRED,
    responses={200: "text/html"},
)
def explorer(request):
    """The explorer: read the operations and try them with an API key, in the browser."""
    return {}
