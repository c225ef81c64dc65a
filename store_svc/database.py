"""The MongoDB connection (motor) and the store's collections.

Timeouts are short so that a call fails fast with ServiceUnavailable when the database is down;
the driver reconnects by itself when it comes back.
"""

from __future__ import annotations

from dataclasses import dataclass

from motor.motor_asyncio import AsyncIOMotorClient, AsyncIOMotorCollection, AsyncIOMotorDatabase

JOBS = "jobs"
JOB_LOGS = "job_logs"
SERVICES = "services"
PROCESS_GRAPHS = "process_graphs"


@dataclass
class Database:
    client: AsyncIOMotorClient
    db: AsyncIOMotorDatabase

    @property
    def jobs(self) -> AsyncIOMotorCollection:
        return self.db[JOBS]

    @property
    def job_logs(self) -> AsyncIOMotorCollection:
        return self.db[JOB_LOGS]

    @property
    def services(self) -> AsyncIOMotorCollection:
        return self.db[SERVICES]

    @property
    def process_graphs(self) -> AsyncIOMotorCollection:
        return self.db[PROCESS_GRAPHS]

    def close(self) -> None:
        self.client.close()


def connect(uri: str, db_name: str, *, server_selection_timeout_ms: int = 3000) -> Database:
    """A client with fail-fast timeouts; connecting is lazy (no I/O here)."""
    client = AsyncIOMotorClient(
        uri,
        tz_aware=True,
        serverSelectionTimeoutMS=server_selection_timeout_ms,
        connectTimeoutMS=min(server_selection_timeout_ms, 5000),
        socketTimeoutMS=max(10_000, 3 * server_selection_timeout_ms),
        retryWrites=True,
        appname="openeo-store",
    )
    return Database(client=client, db=client[db_name])
