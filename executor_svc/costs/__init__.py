"""Processing units a plan will spend on Sentinel Hub, computed before it runs."""
