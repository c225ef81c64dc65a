"""Gateway settings are read once into Settings; the routes use that object, not the environment."""

from __future__ import annotations

from gateway.app import create_app
from gateway.config import Settings
from gateway.routes.tiles import HOT_TILES


def test_tile_cache_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("GATEWAY_TILE_CACHE_SECONDS", "0")
    monkeypatch.setenv("GATEWAY_TILE_CACHE_MB", "2")
    settings = Settings.from_env()
    assert (settings.tile_cache_seconds, settings.tile_cache_bytes) == (0.0, 2 * 1024 * 1024)


def test_the_hot_tile_cache_follows_the_settings_object(monkeypatch):
    monkeypatch.setenv("GATEWAY_TILE_CACHE_SECONDS", "5")  # ignored: the app gets its Settings
    assert HOT_TILES not in create_app(Settings(tile_cache_seconds=0))
    assert HOT_TILES in create_app(Settings(tile_cache_seconds=1.5))


def test_connection_limits_come_from_the_environment_and_reach_aiohttp(monkeypatch):
    monkeypatch.setenv("GATEWAY_IDLE_TIMEOUT_SECONDS", "7")
    monkeypatch.setenv("GATEWAY_BODY_TIMEOUT_SECONDS", "9")
    monkeypatch.setenv("GATEWAY_MAX_HEADER_BYTES", "4096")
    settings = Settings.from_env()
    assert (settings.idle_timeout_seconds, settings.body_timeout_seconds, settings.max_header_bytes) == (7.0, 9.0, 4096)
    # handler_args win over web.run_app's own keepalive_timeout (aiohttp applies them last)
    app = create_app(settings)
    assert app._handler_args["keepalive_timeout"] == 7.0
    assert app._handler_args["max_field_size"] > settings.max_header_bytes
