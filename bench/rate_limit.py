"""Per-tenant rate through the shared limiter with 1, 4 and 16 workers, as a fraction of the limit."""

import json
import os
import sys
from pathlib import Path

from fortnox_bridge import wiring
from fortnox_bridge.fortnox.oauth import ServiceAccountTokens, TokenEndpoint
from fortnox_bridge.observability import logger
from fortnox_bridge.ratelimit.sliding_window import WindowRule
from local_stack.burst import run_burst
from local_stack.stack import local_stack, synthesize

LIMIT = 25
WINDOW_SECONDS = 2.0
REQUESTS_PER_RUN = 150


def main() -> int:
    logger.setLevel("ERROR")
    rule = WindowRule(limit=LIMIT, window_seconds=WINDOW_SECONDS, margin_seconds=0.05)
    rows = []
    with local_stack(synthesize(), rate_limit=LIMIT, rate_window_seconds=WINDOW_SECONDS) as stack:
        os.environ.update(stack.runner.environment(stack.runner.function("TenantProbeFunction")))
        wiring.reset()
        endpoint = TokenEndpoint(
            auth_url=stack.sandbox.url, client_id=stack.app.client_id, client_secret=lambda: stack.app.client_secret
        )
        for workers in (1, 4, 16):
            company = stack.control.create_company(name=f"Bänk {workers} AB")
            endpoint.exchange_code(stack.control.consent(stack.app, company, service_account=True), redirect_uri=None)
            token = ServiceAccountTokens(endpoint, company).access_token()
            result = run_burst(
                table=wiring.table(),
                control=stack.control,
                api_url=stack.sandbox.url,
                token=token,
                tenant_id=company,
                client_id=stack.app.client_id,
                workers=workers,
                per_worker=REQUESTS_PER_RUN // workers,
                rule=rule,
                limiter_key=str(company),
            )
            rows.append(result.__dict__)
            print(
                f"{workers:>2} workers: {result.requests} requests in {result.seconds:5.1f} s, "
                f"{result.fraction_of_limit:6.1%} of the limit, max {result.max_in_any_window}/{LIMIT} per window, "
                f"{result.refused} refused"
            )
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "rate_limit.json").write_text(
        json.dumps({"limit": LIMIT, "window_seconds": WINDOW_SECONDS, "runs": rows}, indent=2)
    )
    return 0 if all(row["refused"] == 0 and row["max_in_any_window"] <= LIMIT for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
