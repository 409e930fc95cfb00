"""Attacks on the failure digest's note when an address appears (``TenantStore.put_settings``, session 10b): a bad
day at DynamoDB between the settings' write and the note, and the careless backend's resend of the same settings.
Through the management API over the local gateway, the export queue, the scheduled digest function and moto's SES."""

from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from fortnox_bridge import aws
from tests.conftest import LOCAL_API_KEY
from tests.exporting import Export
from tests.integration.test_payment_failure_digest import _emails_to

pytestmark = pytest.mark.integration


class DigestItemWriteFailsOnce:
    """DynamoDB failing the first write to the tenant's digest item (an internal error, after the settings' write
    went through): a bad day at AWS between two writes of one request."""

    def __init__(self, tenant: str) -> None:
        self._key = f"TENANT#{tenant}"
        self.failed = 0

    def __call__(self, params: dict[str, Any], **_: Any) -> None:
        key = str(params.get("Key"))
        if not self.failed and self._key in key and "DIGEST" in key:
            self.failed += 1
            raise ClientError(
                {"Error": {"Code": "InternalServerError", "Message": "Internal server error"}}, "UpdateItem"
            )


def test_an_address_saved_again_after_its_note_failed_still_hears_what_failed_before(
    export: Export, gateway: Any, unique: str
) -> None:
    # Given a tenant without a digest address whose invoice Fortnox refused (an inactive account), and a digest that
    # passed over it with nobody to tell
    export.scene.control.patch_account(export.company, 3041, Active=False)
    export.send(export.event("100951"))
    export.runner.run_scheduled(export.runner.function("FailureDigestFunction"))
    management = httpx.Client(base_url=gateway.url, headers={"x-api-key": LOCAL_API_KEY}, timeout=60)
    address = f"later-{unique}@example.com"
    settings = management.get(f"/tenants/{export.tenant}/settings").json()
    settings["notifications"] = {"email": address, "interval_minutes": 60, "language": "en"}

    # When the backend saves an address and DynamoDB fails the request after the settings' write
    failing = DigestItemWriteFailsOnce(export.tenant)
    events = aws.dynamodb().meta.client.meta.events
    events.register("provide-client-params.dynamodb.UpdateItem", failing)
    try:
        first = management.put(f"/tenants/{export.tenant}/settings", json=settings)
    finally:
        events.unregister("provide-client-params.dynamodb.UpdateItem", failing)
    assert failing.failed == 1 and first.status_code >= 500, first.text
    # and, as a failed request asks, sends the settings again, the bookkeeper having meanwhile asked for a daily
    # digest. (The same settings unchanged would do in AWS, whose UPDATED_OLD returns an attribute set to the value
    # it had; moto leaves an unchanged attribute out, so the store would read "no address before" and note.)
    settings["notifications"]["interval_minutes"] = 24 * 60
    again = management.put(f"/tenants/{export.tenant}/settings", json=settings)
    assert again.status_code == 200, again.text
    export.runner.run_scheduled(export.runner.function("FailureDigestFunction"))

    # Then the bookkeeper at the new address is told of the refused invoice, as when the first request went through
    [mail] = _emails_to(address)
    assert "100951" in mail.body
