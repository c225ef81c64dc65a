import asyncio
import random

from executor_svc.sentinelhub.decode import decode_response
from executor_svc.sentinelhub.errors import sh_error_detail
from executor_svc.sentinelhub.retry import backoff_delay, retry_after_seconds

from .fake_sh import render, tar_of


def test_retry_after_is_milliseconds():
    assert retry_after_seconds({"Retry-After": "3398"}, 60) == 3.398
    assert retry_after_seconds({"Retry-After": "999999"}, 60) == 60
    assert retry_after_seconds({}, 60) is None
    assert retry_after_seconds({"Retry-After": "soon"}, 60) is None


def test_backoff_grows_exponentially_with_bounded_jitter():
    rng = random.Random(1)
    for attempt in range(8):
        ceiling = min(10.0, 0.5 * 2**attempt)
        delays = [backoff_delay(attempt, 0.5, 10.0, rng) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1  # jittered


def test_error_detail_shapes():
    assert sh_error_detail(b'{"error":{"status":400,"message":"bad","code":"COMMON_BAD_PAYLOAD"}}') == ("COMMON_BAD_PAYLOAD", "bad")
    assert sh_error_detail(b'{"code":"X","description":"catalog says no"}') == ("X", "catalog says no")
    assert sh_error_detail(b'{"error":"invalid_client","error_description":"nope"}') == (None, "nope")
    assert sh_error_detail(b"") == (None, None)
    assert sh_error_detail(b"<html>oops</html>") == (None, "<html>oops</html>")


def test_decode_tar_and_plain():
    image = render((0, 0, 1, 1), 3, 2)
    plain = decode_response(image, "image/tiff")
    assert plain.data.shape == (2, 2, 3) and plain.userdata is None
    packed = decode_response(tar_of({"default.tif": image, "userdata.json": b'{"a": 1}'}), "application/x-tar")
    assert packed.userdata == {"a": 1}
    assert (packed.data == plain.data).all()


async def test_cancelled_token_fetcher_does_not_block_others(fake, make_client):
    sh = await make_client()
    first = asyncio.create_task(sh.tokens.get(sh.config.deployment.token_url, "demo-client", "demo-secret"))
    await asyncio.sleep(0)  # first takes the lock and starts fetching
    others = [asyncio.create_task(sh.tokens.get(sh.config.deployment.token_url, "demo-client", "demo-secret")) for _ in range(5)]
    await asyncio.sleep(0)
    first.cancel()
    tokens = await asyncio.gather(*others)
    assert len(set(tokens)) == 1
