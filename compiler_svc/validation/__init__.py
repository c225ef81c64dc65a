"""Validation of openEO process graphs against the official definitions and the catalogue."""
