"""Operations: the home page, /api/health, and /metrics for Prometheus.

Settings: ``metrics.token`` (scrape /metrics, and see /api/health's details, with
``Authorization: Bearer <token>``) and ``metrics.allow`` (addresses or networks, e.g.
``127.0.0.1 10.0.0.0/8``, that may scrape without the token).  With neither, /metrics answers 401.
"""

import ipaddress

from pydantic import field_validator
from pyramid.tweens import INGRESS
from pyramid_retry import IBeforeRetry

from ..services import find, provide
from ..settings import Field, OptionalText, Section, Words
from .metrics import Metrics


class OpsSettings(Section):
    metrics_token: OptionalText = Field(None, alias="metrics.token")
    metrics_allow: Words = Field((), alias="metrics.allow")

    @field_validator("metrics_allow")
    @classmethod
    def _networks(cls, value):
        try:
            return tuple(ipaddress.ip_network(n, strict=False) for n in value)
        except ValueError as exc:
            raise ValueError(f"list addresses or networks: {exc}") from None


def includeme(config):
    config.include("myapp.checks")  # its checks and the scheduler's numbers
    config.include("myapp.alerts")
    registry = config.registry
    provide(registry, Metrics(registry))
    config.add_check_listener(find(registry, Metrics).observe_check)
    config.add_subscriber(find(registry, Metrics).on_retry, IBeforeRetry)
    config.add_tween("myapp.ops.metrics.metrics_tween_factory", under=INGRESS)
    config.scan(".api")
    config.scan(".pages")
