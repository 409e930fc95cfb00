"""One signed POST to a checked destination: to its checked address, never following a redirect."""

from collections.abc import Mapping

import httpx

from fortnox_bridge.webhooks.destination import Destination

TIMEOUT_SECONDS = 10.0


def post(destination: Destination, body: str, headers: Mapping[str, str]) -> int:
    """The receiver's status code; ``httpx.TransportError`` when there was no answer.

    A client per request: connections are pooled by address, so a pooled connection verified for one tenant's host
    name could carry another tenant's request to a different host on the same address. The answer's body is never
    read: a receiver cannot make the worker hold a large one."""
    with (
        httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False, trust_env=False) as client,
        client.stream(
            "POST",
            destination.pinned_url,
            content=body.encode(),
            headers={**headers, "Host": destination.host_header},
            extensions={"sni_hostname": destination.host},
        ) as response,
    ):
        return response.status_code
