"""The JSON API as a contract: views declare what they take and give (``contract``), requests are
validated from those declarations, and the OpenAPI document is made from them (``document``), served
at /api/openapi.json with an explorer at /api/docs whose files come from the swagger-ui-py package.

Settings: ``api.check_responses`` (default false; the tests turn it on): check every answer
against the model its view declares, and fail loudly when it differs.
"""

from pyramid.security import NO_PERMISSION_REQUIRED

from .contract import contract_view


def includeme(config):
    config.registry.api_operations = []
    config.add_view_deriver(contract_view)  # inside the permission check: 401/403 come before 422
    config.add_route("api.openapi", "/api/openapi.json")
    config.add_route("api.docs", "/api/docs")
    config.add_static_view("static/swagger-ui", "swagger_ui:static", cache_max_age=86400,
                           permission=NO_PERMISSION_REQUIRED)
