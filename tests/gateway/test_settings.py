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
