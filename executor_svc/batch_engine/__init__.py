"""Batch jobs on Sentinel Hub's Batch Processing API v2 (plans with `batch_api`): the task request,
its lifecycle (create, start, poll, stop), the per-tile status Sentinel Hub writes to the bucket, and
finishing each delivered tile with the rest of the graph."""
