"""openEO API 1.2 gateway: aiohttp REST front end that fans out over gRPC to the backend services."""
