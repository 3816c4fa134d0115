"""The checks' tests share the monitors' real targets and owner (tests/monitors/conftest.py)."""

from ..monitors.conftest import owner, target  # noqa: F401 (fixtures)
