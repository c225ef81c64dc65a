"""aiohttp middlewares: request id + access log, CORS, openEO error bodies."""
