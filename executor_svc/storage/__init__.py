"""Object storage (S3) for batch-job results."""
