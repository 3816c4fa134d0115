"""The JSON API as a contract: views declare what they take and give (``contract``), requests are
validated from those declarations, and the OpenAPI document is made from them (``document``; ops serves
it at /api/openapi.json, with an explorer at /api/docs).

Settings: ``api.check_responses`` (default false; the tests turn it on): check every answer
against the model its view declares, and fail loudly when it differs.
"""

from ..services import provide
from .contract import Operations, contract_view


def includeme(config):
    provide(config.registry, Operations())
    config.add_view_deriver(contract_view)  # inside the permission check: 401/403 come before 422
