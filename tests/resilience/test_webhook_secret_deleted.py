"""A webhook secret an operator scheduled for deletion (a tenant offboarded, then back): Secrets Manager takes no new
value for it and serves nothing from it. A new secret is refused with what to do, not a "try again" that can never
succeed, and the queued events are dead-lettered saying why, not failed until SQS drops them without a reason."""

import boto3

from fortnox_bridge.ids import TenantId
from fortnox_bridge.webhooks.secrets import webhook_secret_id
from local_stack.moto_server import REGION
from tests.webhook_receiver import WebhookTenant, payment_event


def scheduled_for_deletion(tenant: str) -> None:
    secrets = boto3.client("secretsmanager", region_name=REGION)
    secrets.delete_secret(SecretId=webhook_secret_id(TenantId(tenant)), RecoveryWindowInDays=7)


def test_a_new_secret_is_refused_with_the_fix_while_the_old_one_is_scheduled_for_deletion(
    webhooks: WebhookTenant,
) -> None:
    scheduled_for_deletion(webhooks.tenant)

    answer = webhooks.management.post(f"/tenants/{webhooks.tenant}/webhook-secret")

    assert answer.status_code == 409, answer.text
    assert answer.json()["error"] == "needs_tenant_action"
    assert "scheduled for deletion" in answer.json()["message"]
    assert "secret" not in answer.json()


def test_events_for_a_secret_scheduled_for_deletion_are_dead_lettered_with_the_reason(webhooks: WebhookTenant) -> None:
    scheduled_for_deletion(webhooks.tenant)

    webhooks.send(payment_event(webhooks.tenant))

    assert webhooks.receiver.for_tenant(webhooks.tenant) == []
    [dead] = webhooks.dead_letters()
    assert dead.attributes["reason"] == "no_webhook_secret"
    assert "scheduled for deletion" in dead.body["detail"]
