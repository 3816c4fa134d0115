"""Fixtures shared with the monitors' tests."""

from ..monitors.conftest import owner  # noqa: F401 (fixture)
