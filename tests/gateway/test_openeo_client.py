"""The official openeo Python client against the gateway (fake services behind it)."""

from __future__ import annotations

import asyncio

import openeo

from tests.gateway.conftest import PROCESS
from tests.gateway.idp import CLIENT_ID, CLIENT_SECRET
from tests.gateway.test_results import RESULTS


async def test_openeo_client_flow(client, fakes, settings, tmp_path):
    def flow():
        conn = openeo.connect(settings.public_url)
        assert conn.capabilities().api_version() == "1.2.0"
        assert "load_collection" in {p["id"] for p in conn.list_processes()}
        conn.authenticate_basic(CLIENT_ID, CLIENT_SECRET)
        assert conn.describe_account()["user_id"] == f"basic~sub-{CLIENT_ID}"
        data = conn.download(PROCESS["process_graph"])
        job = conn.create_job(PROCESS["process_graph"], title="from client")
        job.start()
        return conn, data, job.job_id

    conn, data, job_id = await asyncio.to_thread(flow)
    assert data == b"".join(fakes.executor.result_chunks)
    job = fakes.store.jobs[job_id]
    assert job.status == "queued" and job.title == "from client"
    job.status = "finished"
    job.results.CopyFrom(RESULTS)
    fakes.executor.assets[(job_id, "result.tif")] = b"tiff-bytes" * 100

    def download():
        results = conn.job(job_id).get_results()
        return results.download_files(tmp_path)

    files = await asyncio.to_thread(download)
    tif = [f for f in files if f.name == "result.tif"][0]
    assert tif.read_bytes() == b"tiff-bytes" * 100
