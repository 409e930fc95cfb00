"""Resilience tests go through the real handler and queue path, against the sandbox and moto."""

from tests.exporting import export

__all__ = ["export"]  # the fixture, imported so pytest finds it
