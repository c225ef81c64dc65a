"""The differential tests' stack fixtures (defined in tests/differential/stack.py)."""

from .stack import emulator_url, pool, runner

__all__ = ["emulator_url", "pool", "runner"]  # pytest finds fixtures by name here
