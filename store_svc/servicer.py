"""The gRPC servicer: translates protobuf requests to the domain stores and back, and turns
database outages into ServiceUnavailable (gRPC UNAVAILABLE, openEO 503)."""

from __future__ import annotations

import asyncio
import functools

from pymongo.errors import ConnectionFailure, ExecutionTimeout

from backend_proto.v1 import common_pb2, store_pb2, store_pb2_grpc
from backend_common.errors import OpenEOError
from store_svc import credentials, documents
from store_svc.availability import DatabaseAvailability
from store_svc.config import StoreConfig
from store_svc.database import Database
from store_svc.errors import unavailable
from store_svc.job_queue import JobQueue
from store_svc.jobs import JobStore
from store_svc.quotas import Quotas
from store_svc import logs
from store_svc.web_services import ServiceStore
from store_svc.service_spending import ServiceSpending
from store_svc.udps import ProcessGraphStore

SERVICE_NAME = store_pb2.DESCRIPTOR.services_by_name["StoreService"].full_name


def database_outage_is_unavailable(method):
    """Waits (briefly) until the collections and indexes exist, then runs the call; driver errors
    meaning 'database unreachable' become the openEO ServiceUnavailable error."""

    @functools.wraps(method)
    async def wrapper(self, request, context):
        await self.wait_schema_ready()
        try:
            reply = await method(self, request, context)
        except (ConnectionFailure, ExecutionTimeout) as exc:
            self.availability.failed()
            raise unavailable() from exc
        except OpenEOError:
            self.availability.succeeded()  # the database answered (e.g. 'not found')
            raise
        self.availability.succeeded()
        return reply

    return wrapper


class StoreServicer(store_pb2_grpc.StoreServiceServicer):
    def __init__(self, database: Database, config: StoreConfig, schema_ready: asyncio.Event | None = None):
        self.database = database
        self.schema_ready = schema_ready
        self.schema_wait_seconds = config.server_selection_timeout_ms / 1000
        self.jobs = JobStore(database)
        self.availability = DatabaseAvailability(config.lease_grace_seconds)
        self.quotas = Quotas(database)
        self.queue = JobQueue(database, max_attempts=config.job_max_attempts, availability=self.availability,
                              on_costs=self.quotas.add_spending)
        self.services = ServiceStore(database)
        self.service_spending = ServiceSpending(database, self.quotas)
        self.process_graphs = ProcessGraphStore(database)

    async def wait_schema_ready(self) -> None:
        """No call touches the database before the start-up index creation succeeded: SecantusDB
        can deadlock when a collection is created implicitly by an insert while createIndexes
        creates it too. While the database is unreachable this ends in ServiceUnavailable."""
        if self.schema_ready is None or self.schema_ready.is_set():
            return
        try:
            await asyncio.wait_for(self.schema_ready.wait(), self.schema_wait_seconds)
        except TimeoutError:
            self.availability.failed()
            raise unavailable() from None

    # ---- batch jobs ----
    @database_outage_is_unavailable
    async def CreateJob(self, request, context):
        return documents.job_to_proto(await self.jobs.create(request))

    @database_outage_is_unavailable
    async def GetJob(self, request, context):
        return documents.job_to_proto(await self.jobs.get(request.user, request.job_id))

    @database_outage_is_unavailable
    async def ListJobs(self, request, context):
        docs, token = await self.jobs.list(request.user, request.page)
        return store_pb2.ListJobsResponse(jobs=[documents.job_to_proto(d) for d in docs], next_token=token)

    @database_outage_is_unavailable
    async def UpdateJob(self, request, context):
        return documents.job_to_proto(await self.jobs.update(request))

    @database_outage_is_unavailable
    async def DeleteJob(self, request, context):
        await self.jobs.delete(request.user, request.job_id)
        return common_pb2.Empty()

    @database_outage_is_unavailable
    async def QueueJob(self, request, context):
        doc = await self.jobs.queue(request.user, request.job_id)
        self.queue.candidates.invalidate()  # the new job takes its owner's turn at the next claim
        return documents.job_to_proto(doc)

    @database_outage_is_unavailable
    async def CancelJob(self, request, context):
        return documents.job_to_proto(await self.jobs.cancel(request.user, request.job_id))

    # ---- job queue ----
    @database_outage_is_unavailable
    async def ClaimJob(self, request, context):
        doc, token = await self.queue.claim(request)
        if doc is None:
            return store_pb2.ClaimJobResponse()
        return store_pb2.ClaimJobResponse(job=documents.job_to_proto(doc), lease_token=token,
                                          owner=credentials.owner_of(doc), run_id=doc.get("run_id") or "")

    @database_outage_is_unavailable
    async def RenewLease(self, request, context):
        held, cancel = await self.queue.renew(request)
        return store_pb2.RenewLeaseResponse(lease_held=held, cancel_requested=cancel)

    @database_outage_is_unavailable
    async def CompleteJob(self, request, context):
        return documents.job_to_proto(await self.queue.complete(request))

    @database_outage_is_unavailable
    async def ReleaseJob(self, request, context):
        return documents.job_to_proto(await self.queue.release(request))

    # ---- job logs ----
    @database_outage_is_unavailable
    async def AppendJobLogs(self, request, context):
        await logs.append(self.database, request)
        return common_pb2.Empty()

    @database_outage_is_unavailable
    async def ListJobLogs(self, request, context):
        docs, next_offset = await logs.list_entries(self.database, request)
        return store_pb2.ListJobLogsResponse(logs=[documents.log_to_proto(d) for d in docs], next_offset=next_offset)

    # ---- services ----
    @database_outage_is_unavailable
    async def CreateService(self, request, context):
        return documents.service_to_proto(await self.services.create(request))

    @database_outage_is_unavailable
    async def GetService(self, request, context):
        return documents.service_to_proto(await self.services.get(request.user, request.service_id))

    @database_outage_is_unavailable
    async def GetServiceForTiles(self, request, context):
        return documents.service_to_proto(await self.services.get_for_tiles(request.service_id))

    @database_outage_is_unavailable
    async def ListServices(self, request, context):
        docs, token = await self.services.list(request.user, request.page)
        return store_pb2.ListServicesResponse(
            services=[documents.service_to_proto(d) for d in docs], next_token=token
        )

    @database_outage_is_unavailable
    async def UpdateService(self, request, context):
        return documents.service_to_proto(await self.services.update(request))

    @database_outage_is_unavailable
    async def DeleteService(self, request, context):
        await self.services.delete(request.user, request.service_id)
        return common_pb2.Empty()

    # ---- user-defined processes ----
    @database_outage_is_unavailable
    async def PutProcessGraph(self, request, context):
        return documents.process_graph_to_proto(await self.process_graphs.put(request))

    @database_outage_is_unavailable
    async def GetProcessGraph(self, request, context):
        return documents.process_graph_to_proto(await self.process_graphs.get(request.user, request.process_graph_id))

    @database_outage_is_unavailable
    async def ListProcessGraphs(self, request, context):
        docs, token = await self.process_graphs.list(request.user, request.page)
        return store_pb2.ListProcessGraphsResponse(
            process_graphs=[documents.process_graph_to_proto(d) for d in docs], next_token=token
        )

    @database_outage_is_unavailable
    async def DeleteProcessGraph(self, request, context):
        await self.process_graphs.delete(request.user, request.process_graph_id)
        return common_pb2.Empty()

    # ---- quotas and spending ----

    @database_outage_is_unavailable
    async def AdmitSyncRequest(self, request, context):
        return await self.quotas.admit_sync(request)

    @database_outage_is_unavailable
    async def ReleaseSyncSlot(self, request, context):
        await self.quotas.release(request.slot_id, request.slot_token)
        return common_pb2.Empty()

    @database_outage_is_unavailable
    async def AddSpending(self, request, context):
        await self.quotas.add_spending(request.user_id, request.processing_units)
        return await self.quotas.user_spending(request.user_id)

    @database_outage_is_unavailable
    async def GetUserSpending(self, request, context):
        return await self.quotas.user_spending(request.user_id)

    @database_outage_is_unavailable
    async def AddServiceSpending(self, request, context):
        return await self.service_spending.add(request)
