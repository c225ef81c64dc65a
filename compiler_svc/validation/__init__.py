"""Validation of openEO process graphs against the official definitions and the catalogue."""

from compiler_svc.problems import Problem  # noqa: F401
from compiler_svc.validation.validator import ValidationContext, validate_process  # noqa: F401
