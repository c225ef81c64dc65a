"""Billing: costs are Sentinel Hub processing units (PU), billed to the user's own SH account."""

from __future__ import annotations

from gateway.errors import api_error

CURRENCY = "PU"
DEFAULT_BILLING_PLAN = "sentinelhub"
BILLING_PLANS = [
    {
        "name": DEFAULT_BILLING_PLAN,
        "description": (
            "Processing is billed in Sentinel Hub processing units (PU) to the Sentinel Hub account "
            "you log in with."
        ),
        "paid": True,
        "url": "https://docs.sentinel-hub.com/api/latest/api/overview/processing-unit/",
    }
]


def normalize_billing_plan(value) -> str | None:
    """A valid billing plan name (case-insensitive) or None; BillingPlanInvalid otherwise."""
    if value is None:
        return None
    if not isinstance(value, str) or value.lower() not in {p["name"] for p in BILLING_PLANS}:
        names = ", ".join(p["name"] for p in BILLING_PLANS)
        raise api_error("BillingPlanInvalid", f"The billing plan is invalid. Available plans: {names}.")
    return value.lower()


def pu_usage(processing_units: float) -> dict:
    return {"sentinelhub": {"value": processing_units, "unit": "processing units"}}
