"""openEO process-graph evaluation."""

from .evaluate import GraphEvaluator, evaluate

__all__ = ["GraphEvaluator", "evaluate"]
