"""Batch Processing API v2 (`/api/v2/batch`, reference §5.2): tiling grids, task requests, the task state
machine, background tile processing and delivery to the task's S3 bucket."""
