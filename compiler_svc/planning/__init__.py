"""Translation of validated process graphs into execution plans (Sentinel Hub loads + evalscripts)."""
