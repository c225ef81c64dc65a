"""Evalscript V3 execution in embedded V8 (mini-racer)."""
from .session import EvalscriptError, ScriptSession, V8Pool

__all__ = ["EvalscriptError", "ScriptSession", "V8Pool"]
