import re

from gateway.auth.user_ids import user_id

PATTERN = re.compile(r"^[\w\-\.~]+$")  # openEO API 1.2 user_id pattern


def test_ids_fit_the_openeo_pattern_and_keep_methods_apart():
    plain = user_id("basic", "0f3c-11aa")
    assert plain == "basic~0f3c-11aa"
    odd = user_id("oidc", "egi", "12345@egi.eu")
    assert PATTERN.fullmatch(odd) and odd.startswith("oidc~egi~h")
    assert odd == user_id("oidc", "egi", "12345@egi.eu")
    assert user_id("oidc", "egi", "a@b") != user_id("oidc", "egi", "a#b")
    assert user_id("basic", "x") != user_id("oidc", "p", "x")
