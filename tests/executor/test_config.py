"""The executor reads every setting once, into ExecutorConfig (Sentinel Hub and S3 included)."""

from __future__ import annotations

from executor_svc.config import ExecutorConfig


def test_one_config_object_holds_the_executor_sentinel_hub_and_s3_settings(monkeypatch):
    for name, value in {
        "EXECUTOR_WORKERS": "3", "DASK_CHUNK_PX": "512",
        "SH_BASE_URL": "https://sh.dataspace.copernicus.eu", "SH_CLIENT_ID": "id", "SH_MAX_RETRIES": "2",
        "S3_BUCKET": "results", "S3_ENDPOINT_URL": "http://127.0.0.1:9000",
        "EXECUTOR_OUTAGE_SECONDS": "120", "EXECUTOR_RETRY_MAX_DELAY_SECONDS": "4",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SH_TOKEN_URL", raising=False)
    config = ExecutorConfig.from_env()
    assert (config.workers, config.dask.chunk_px) == (3, 512)
    assert (config.outage_seconds, config.retry_max_delay) == (120.0, 4.0)
    assert config.sentinelhub.deployment.name == "cdse"
    assert (config.sentinelhub.client_id, config.sentinelhub.max_retries) == ("id", 2)
    assert (config.s3.bucket, config.s3.endpoint_url) == ("results", "http://127.0.0.1:9000")

    # read once: later changes of the environment do not reach the object
    monkeypatch.setenv("S3_BUCKET", "other")
    assert config.s3.bucket == "results"
