"""Batch-job workers: claim jobs from the store's queue, run them, write results to S3."""

from .worker import BatchWorker, WorkerSettings

__all__ = ["BatchWorker", "WorkerSettings"]
