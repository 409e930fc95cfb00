"""``make demo``: the local stack end to end, on the embedded defaults.

Synthesizes the CDK app, deploys its data resources into a moto server, starts the Fortnox sandbox, connects a
demo tenant, reads its company through the client, probes it through the queue and the real handler, exports
invoices and a day's sales (one voucher refused, fixed and replayed), and sends a rate-limited burst from four
workers. Prints what happened and stops everything it started.
"""

import json
import os
import sys
import time
import warnings

import httpx

from fortnox_bridge import wiring
from fortnox_bridge.fortnox.oauth import ServiceAccountTokens, TokenEndpoint
from fortnox_bridge.ids import TenantId
from fortnox_bridge.observability import logger
from fortnox_bridge.ratelimit.sliding_window import WindowRule
from fortnox_bridge.store.connections import ConnectionStore
from fortnox_bridge.store.tenants import TenantStore
from infra.names import MAX_RECEIVE_COUNT
from local_stack.burst import run_burst
from local_stack.connect_walk import walk
from local_stack.demo_exports import export_samples
from local_stack.demo_payments import story_lines as payment_lines
from local_stack.demo_payments import sync_payments
from local_stack.demo_vouchers import export_sales_days, story_lines
from local_stack.stack import LOCAL_API_KEY, local_stack, synthesize

DEMO_TENANT = TenantId("demo-akeri")
DEMO_COMPANY = 1000001
BURST_COMPANY = 1000002


def say(title: str, *lines: str) -> None:
    print(f"\n== {title}")
    for line in lines:
        print(f"   {line}")


def main() -> int:
    started = time.monotonic()
    # The demo prints its own story; the handlers' JSON logs and metric warnings would drown it.
    logger.setLevel("ERROR")
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    template = synthesize()
    resources = sorted({resource["Type"] for resource in template["Resources"].values()})
    say("CDK app synthesized (no Docker, no CDK CLI)", *resources)

    with local_stack(template) as stack:
        # The demo itself acts with the probe function's configuration, so both see the same table and Fortnox.
        env = stack.runner.environment(stack.runner.function("TenantProbeFunction"))
        os.environ.update(env)
        wiring.reset()
        table = wiring.table()
        say(
            "Local stack up",
            f"moto server      {stack.moto_url}",
            f"Fortnox sandbox  {stack.sandbox.url}",
            f"state table      {env['TABLE_NAME']}",
            f"probe queue      {stack.logical('TenantProbeWorkQueue').rsplit('/', 1)[-1]} "
            f"(dead letters after {MAX_RECEIVE_COUNT} deliveries)",
        )

        stack.control.create_company(DEMO_COMPANY, "Sandlådan Åkeri AB", "556677-8899")
        management = httpx.Client(base_url=stack.api_url, headers={"x-api-key": LOCAL_API_KEY}, timeout=30)
        management.put(f"/tenants/{DEMO_TENANT}", json={"display_name": "Demo Åkeri"}).raise_for_status()
        features = {
            "features": ["invoice_export", "voucher_export", "payment_sync"],
            "notifications": {"email": "bokforing@akeri.example.se", "language": "en"},
        }
        management.put(f"/tenants/{DEMO_TENANT}/settings", json=features).raise_for_status()
        link = management.post(f"/tenants/{DEMO_TENANT}/connect-links", json={})
        link.raise_for_status()
        walked = walk(link.json()["url"], DEMO_COMPANY)
        status = management.get(f"/tenants/{DEMO_TENANT}").json()
        say(
            "Tenant connected through its hosted link (landing page -> Fortnox consent -> callback)",
            f"connect link: {link.json()['url'][:60]}... valid until {link.json()['expires_at'][:10]}",
            f"callback answered {walked.status}; GET /tenants/{DEMO_TENANT}: {status['state']} to "
            f"{status['company_name']} ({status['organisation_number']}), Fortnox tenant {status['fortnox_tenant_id']}",
            f"refresh token (in Secrets Manager, never in DynamoDB) expires {status['refresh_token_expires_at'][:10]} "
            "unless the daily keep-alive refreshes it first",
        )
        connection = ConnectionStore(table).get(DEMO_TENANT)
        assert connection is not None

        with wiring.fortnox_client(connection) as client:
            company = client.company_information.get()
            year = client.financial_years.for_date(wiring.today().date())
            accounts = sum(1 for _ in client.accounts.list(financial_year=year.Id if year and year.Id else None))
        say(
            "Company read through the Fortnox client",
            f"{company.CompanyName} ({company.OrganizationNumber}), database number {company.DatabaseNumber}",
            f"financial year {year.FromDate} .. {year.ToDate}, {accounts} accounts"
            if year
            else "no financial year today",
        )

        stack.send("TenantProbeWorkQueue", json.dumps({"tenant_id": DEMO_TENANT}))
        stack.send("TenantProbeWorkQueue", json.dumps({"tenant_id": "ghost"}))
        stack.send("TenantProbeWorkQueue", "not json")
        outcomes = stack.runner.drain(stack.runner.function("TenantProbeFunction"))
        probe = TenantStore(table).get(DEMO_TENANT)
        say(
            "Tenant probe through the queue and the real handler",
            f"batches: {[(outcome.received, outcome.failed) for outcome in outcomes]} (received, failed)",
            f"recorded: {probe.last_probe.model_dump_json() if probe and probe.last_probe else 'nothing'}",
            f"dead letters: {stack.queue_depth('TenantProbeWorkDeadLetters')} (the message that was not JSON)",
        )

        exported = export_samples(stack, management, DEMO_TENANT)
        say(
            "Invoice export: sample events through the queue and the real exporter",
            *[
                f"{upstream:>8} -> Fortnox {number:>3}  {kind:<16} {total:>8} SEK  {note}"
                for upstream, number, kind, total, note in exported
            ],
        )

        vouchers = export_sales_days(stack, management, DEMO_TENANT, DEMO_COMPANY)
        say(
            "Voucher export: a day's sales at two registers, one refused, fixed in Fortnox, replayed",
            *story_lines(vouchers),
        )

        payments = sync_payments(stack, management, DEMO_TENANT, DEMO_COMPANY)
        say(
            "Payment sync: a partial and a final payment in Fortnox, one schedule tick, one poll, what went upstream",
            *payment_lines(payments),
        )

        endpoint = TokenEndpoint(
            auth_url=stack.sandbox.url, client_id=stack.app.client_id, client_secret=lambda: stack.app.client_secret
        )
        # A second company, so the burst starts on an empty window of its own.
        burst_company = stack.control.create_company(BURST_COMPANY, "Sandlådan Kassa AB", "556677-0000")
        endpoint.exchange_code(stack.control.consent(stack.app, burst_company, service_account=True), redirect_uri=None)
        token = ServiceAccountTokens(endpoint, burst_company).access_token()
        rule = WindowRule(limit=25, window_seconds=5.0, margin_seconds=0.1)
        result = run_burst(
            table=table,
            control=stack.control,
            api_url=stack.sandbox.url,
            token=token,
            tenant_id=burst_company,
            client_id=stack.app.client_id,
            workers=4,
            # Past two full windows of the rule: enough to show it holds, in 10 s rather than 15.
            per_worker=15,
            rule=rule,
            limiter_key=str(burst_company),
        )
        say(
            f"Rate-limited burst: 4 workers, {result.requests} requests, Fortnox's 25 per 5 s",
            f"refused by the sandbox: {result.refused}",
            f"most in any 5 s window: {result.max_in_any_window} (limit 25)",
            f"used {result.fraction_of_limit:.0%} of the limit ({result.seconds:.1f} s; the rule allows no less than "
            f"{(-(-result.requests // 25) - 1) * 5} s)",
        )
        ok = (
            vouchers.ok
            and payments.ok
            and result.refused == 0
            and result.max_in_any_window <= 25
            and probe is not None
            and probe.last_probe is not None
        )
    say("Done" if ok else "FAILED", f"{time.monotonic() - started:.1f} s; local stack stopped")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
