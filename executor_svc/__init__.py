"""openEO executor service."""
