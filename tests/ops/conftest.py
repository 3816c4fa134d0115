"""Fixtures shared with the monitors' tests."""

from ..monitors.conftest import owner, target  # noqa: F401 (fixtures)
