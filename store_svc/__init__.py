"""store_svc: the only owner of persistent state (MongoDB via motor): batch jobs, job logs,
secondary web services, user-defined processes and the batch job queue."""
