"""openEO process-graph evaluation of the graph a plan leaves for the executor."""

from .evaluate import GraphEvaluator

__all__ = ["GraphEvaluator"]
