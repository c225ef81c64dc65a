"""Billing plans: costs are Sentinel Hub processing units (PU); each plan, defined by the operator
in a JSON file (`GATEWAY_BILLING_PLANS_FILE`, default `gateway/billing_plans.json`), has limits
that `gateway.quotas` enforces. 0 (or a missing limit) means unlimited."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from gateway.errors import api_error

DEFAULT_FILE = Path(__file__).with_name("billing_plans.json")
LIMIT_NAMES = ("processing_units_per_month", "concurrent_jobs", "sync_requests_per_minute",
               "sync_requests_in_flight", "largest_sync_request")
LIMIT_TEXT = {
    "processing_units_per_month": "processing units per month",
    "concurrent_jobs": "batch jobs queued or running at a time",
    "sync_requests_per_minute": "synchronous requests per minute",
    "sync_requests_in_flight": "synchronous requests at a time",
    "largest_sync_request": "processing units of one synchronous request",
}


@dataclass(frozen=True)
class PlanLimits:
    processing_units_per_month: float = 0.0
    concurrent_jobs: int = 0
    sync_requests_per_minute: int = 0
    sync_requests_in_flight: int = 0
    largest_sync_request: float = 0.0


@dataclass(frozen=True)
class BillingPlan:
    name: str
    description: str
    paid: bool
    url: str = ""
    limits: PlanLimits = field(default_factory=PlanLimits)

    def public(self) -> dict:
        """The plan as `GET /` lists it (openEO `billing.plans`), with its limits."""
        doc = {"name": self.name, "description": self.description, "paid": self.paid}
        if self.url:
            doc["url"] = self.url
        doc["limits"] = {name: getattr(self.limits, name) for name in LIMIT_NAMES}
        return doc


@dataclass(frozen=True)
class BillingPlans:
    currency: str
    default_plan: str
    plans: tuple[BillingPlan, ...]

    def get(self, name: str | None) -> BillingPlan:
        """The plan named `name`; the default plan for None, "" or a plan the operator removed."""
        wanted = (name or self.default_plan).lower()
        default = next(p for p in self.plans if p.name == self.default_plan)
        return next((p for p in self.plans if p.name == wanted), default)

    def normalize(self, value) -> str | None:
        """A valid plan name (case-insensitive) or None; BillingPlanInvalid otherwise."""
        if value is None:
            return None
        if not isinstance(value, str) or value.lower() not in {p.name for p in self.plans}:
            names = ", ".join(p.name for p in self.plans)
            raise api_error("BillingPlanInvalid", f"The billing plan is invalid. Available plans: {names}.")
        return value.lower()

    def capabilities(self) -> dict:
        return {"currency": self.currency, "default_plan": self.default_plan,
                "plans": [p.public() for p in self.plans]}


def parse_billing_plans(doc: dict) -> BillingPlans:
    """The plans of an operator's configuration document; ValueError when it is not valid."""
    if not isinstance(doc, dict) or not isinstance(doc.get("plans"), list) or not doc["plans"]:
        raise ValueError("the billing plans file needs a non-empty list 'plans'")
    plans = []
    for item in doc["plans"]:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            raise ValueError("every billing plan needs a 'name'")
        limits = item.get("limits") or {}
        unknown = set(limits) - set(LIMIT_NAMES)
        if unknown:
            raise ValueError(f"plan {item['name']!r}: unknown limits {sorted(unknown)}")
        values = {}
        for name in LIMIT_NAMES:
            value = limits.get(name, 0)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"plan {item['name']!r}: limit {name} must be a number >= 0")
            values[name] = value
        plans.append(BillingPlan(name=item["name"].lower(), description=str(item.get("description") or ""),
                                 paid=bool(item.get("paid", False)), url=str(item.get("url") or ""),
                                 limits=PlanLimits(**values)))
    names = [p.name for p in plans]
    if len(set(names)) != len(names):
        raise ValueError("billing plan names must be unique")
    default = str(doc.get("default_plan") or names[0]).lower()
    if default not in names:
        raise ValueError(f"the default plan {default!r} is not defined")
    return BillingPlans(currency=str(doc.get("currency") or "PU"), default_plan=default, plans=tuple(plans))


def load_billing_plans(path: str | Path | None) -> BillingPlans:
    with open(path or DEFAULT_FILE, encoding="utf-8") as handle:
        return parse_billing_plans(json.load(handle))


BILLING = web.AppKey("billing_plans", BillingPlans)


def plans_of(request: web.Request) -> BillingPlans:
    return request.app[BILLING]


def normalize_billing_plan(request: web.Request, value) -> str | None:
    return plans_of(request).normalize(value)


def budget_of(body: dict, key: str = "budget") -> float | None:
    """The `budget` of a request body: None, or a number above 0 (BudgetInvalid otherwise)."""
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or value == float("inf"):
        raise api_error("BudgetInvalid", "The specified budget is too low: it must be a number above 0.")
    return float(value)


def pu_usage(processing_units: float) -> dict:
    return {"sentinelhub": {"value": processing_units, "unit": "processing units"}}
