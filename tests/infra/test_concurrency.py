"""Concurrency from the synthesized template: every SQS event source is bounded, its function reserves what the event
source may use, a busy tenant's batch finishes inside its timeout with every worker the template allows on that
tenant, and the reservations leave the account's unreserved pool its minimum (docs/decisions.md)."""

from typing import Any

from fortnox_bridge.ratelimit.sliding_window import DynamoDbSlidingWindow, WindowRule
from infra.names import (
    HOSTED_CONNECT_RESERVED_CONCURRENCY,
    INVOICE_EXPORT_MAX_CONCURRENCY,
    MANAGEMENT_API_RESERVED_CONCURRENCY,
    PAYMENT_POLL_MAX_CONCURRENCY,
    SCHEDULED_RESERVED_CONCURRENCY,
    SOURCE_METADATA_KEY,
    TENANT_PROBE_MAX_CONCURRENCY,
    VOUCHER_EXPORT_MAX_CONCURRENCY,
    WEBHOOK_DELIVERY_MAX_CONCURRENCY,
)

ACCOUNT_CONCURRENCY = 1000
"""A new account's default concurrent executions per region."""
UNRESERVED_MINIMUM = 100
"""Lambda refuses a reservation that leaves fewer unreserved executions than this."""

RESERVED = {
    "invoice_export": INVOICE_EXPORT_MAX_CONCURRENCY,
    "voucher_export": VOUCHER_EXPORT_MAX_CONCURRENCY,
    "tenant_probe": TENANT_PROBE_MAX_CONCURRENCY,
    "payment_poll": PAYMENT_POLL_MAX_CONCURRENCY,
    "webhook_delivery": WEBHOOK_DELIVERY_MAX_CONCURRENCY,
    "management_api": MANAGEMENT_API_RESERVED_CONCURRENCY,
    "hosted_connect": HOSTED_CONNECT_RESERVED_CONCURRENCY,
    "connection_keepalive": SCHEDULED_RESERVED_CONCURRENCY,
    "payment_schedule": SCHEDULED_RESERVED_CONCURRENCY,
    "failure_digest": SCHEDULED_RESERVED_CONCURRENCY,
}
"""What each function reserves, as argued; a function not named here reserves nothing and runs from the shared pool."""

FORTNOX_REQUESTS_PER_MESSAGE = {"invoice_export": 3, "voucher_export": 2}
"""The argued worst average over a batch of one tenant: an invoice of a new customer with a PDF (customer, invoice,
file, attachment; 1.00 calls for a known customer measured, 2.00 for a new one); a voucher day with a cold setup
(six reads for the first day of a batch, 1.05 calls a day warm)."""
OTHER_FORTNOX_CALLERS_PER_TENANT = 3
"""Besides the queue workers: a payment poll (one per company, by its lease), a management mapping check and a hosted
connect's read-back of the company."""


def _functions(template: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Each bridge function by its source folder name, with its logical id."""
    found = {}
    for logical_id, resource in template["Resources"].items():
        source = resource.get("Metadata", {}).get(SOURCE_METADATA_KEY)
        if resource["Type"] == "AWS::Lambda::Function" and source:
            found[source.removeprefix("functions/")] = (logical_id, resource)
    return found


def _event_sources(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each SQS event source mapping's properties, by its function's source folder name."""
    by_logical_id = {logical_id: source for source, (logical_id, _) in _functions(template).items()}
    return {
        by_logical_id[resource["Properties"]["FunctionName"]["Ref"]]: resource["Properties"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::EventSourceMapping"
    }


def test_every_event_source_has_a_maximum_concurrency_its_function_reserves(template: dict[str, Any]) -> None:
    """Lambda throttling an event source's batch sends it back to the queue as a receive, towards the dead-letter
    queue; with the reservation equal to the maximum, the event source never asks for more than is there."""
    functions = _functions(template)
    sources = _event_sources(template)
    assert set(sources) == {"invoice_export", "voucher_export", "tenant_probe", "payment_poll", "webhook_delivery"}
    for source, properties in sources.items():
        maximum = properties.get("ScalingConfig", {}).get("MaximumConcurrency")
        assert maximum is not None, f"{source}'s event source scales without bound"
        assert 2 <= maximum <= 1000, f"{source}: SQS event sources take 2 to 1000"
        reserved = functions[source][1]["Properties"].get("ReservedConcurrentExecutions")
        assert reserved == maximum, f"{source} reserves {reserved} for an event source of {maximum}"


def test_each_function_reserves_what_was_argued_and_no_other_function_reserves(template: dict[str, Any]) -> None:
    reserved = {
        source: resource["Properties"].get("ReservedConcurrentExecutions")
        for source, (_, resource) in _functions(template).items()
    }
    assert {source: reserved.get(source) for source in RESERVED} == RESERVED
    unargued = {source: value for source, value in reserved.items() if source not in RESERVED and value is not None}
    assert unargued == {}, "argue a reservation in names.py and docs/decisions.md before adding it"


def test_the_reservations_leave_the_account_its_unreserved_minimum(template: dict[str, Any]) -> None:
    """Every reservation in the template, the CDK's own helper functions included."""
    total = sum(
        resource["Properties"].get("ReservedConcurrentExecutions", 0)
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
    )
    assert total <= ACCOUNT_CONCURRENCY - UNRESERVED_MINIMUM
    # Most of the pool stays shared: the stack must not crowd out whatever else runs in the account.
    assert total <= ACCOUNT_CONCURRENCY // 5


def test_a_busy_tenants_batch_fits_half_its_timeout_with_every_worker_on_that_tenant(
    template: dict[str, Any],
) -> None:
    """The limiter hands a tenant's slots out a gap apart, so a worker waits about one gap per worker of the same
    tenant before each request. With every Fortnox-calling worker the template allows on one tenant, a batch of that
    tenant's messages must still end within half its timeout (the other half is Fortnox's own time and its retries),
    or the tenant's extra workers sleep in the limiter until Lambda ends them and their messages go round again."""
    functions = _functions(template)
    sources = _event_sources(template)
    fortnox_workers = sum(
        sources[source]["ScalingConfig"]["MaximumConcurrency"]
        for source in ("invoice_export", "voucher_export", "tenant_probe")
    )
    workers_on_one_tenant = fortnox_workers + OTHER_FORTNOX_CALLERS_PER_TENANT
    gap = WindowRule().gap_seconds
    for source, requests_per_message in FORTNOX_REQUESTS_PER_MESSAGE.items():
        batch = sources[source]["BatchSize"]
        timeout = functions[source][1]["Properties"]["Timeout"]
        waited = batch * requests_per_message * workers_on_one_tenant * gap
        assert waited <= timeout / 2, f"{source}: a batch may wait {waited:.0f} s of its {timeout} s"
    # Each worker holds at most one reservation; the limiter takes times further ahead than this for a wrong clock.
    assert workers_on_one_tenant * gap < DynamoDbSlidingWindow.MAX_AHEAD_SECONDS
