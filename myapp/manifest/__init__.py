"""Monitors as code: a user's monitors, channels and status pages as one YAML or JSON document
(``GET /api/export``), applied back by name in one transaction (``POST /api/apply``, with ``dry_run``
and ``prune``), and ``myapp_monitors``, the command line that wraps both."""


def includeme(config):
    config.include("myapp.monitors")
    config.include("myapp.alerts")
    config.include("myapp.status_pages")
    config.scan(".api")
