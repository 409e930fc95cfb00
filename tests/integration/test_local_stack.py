"""The local stack is the template: same tables and redrive policies, same batch and partial-failure rules."""

import json
from typing import Any

import boto3
import pytest

from fortnox_bridge.ids import TenantId
from fortnox_bridge.store.tenants import TenantStore
from local_stack.moto_server import REGION
from local_stack.onboarding import connect_service_account
from local_stack.runner import LocalRunner
from local_stack.template import local_template
from tests.conftest import Scene

pytestmark = pytest.mark.integration


def _queue(deployed: Any, prefix: str) -> str:
    return str(next(value for key, value in deployed.physical_ids.items() if key.startswith(prefix)))


def test_every_data_resource_of_the_template_exists_locally(template: dict[str, Any], deployed: Any) -> None:
    expected = set(local_template(template)["Resources"])
    assert expected <= set(deployed.physical_ids)
    sqs = boto3.client("sqs", region_name=REGION)
    work = _queue(deployed, "TenantProbeWorkQueue")
    redrive = json.loads(
        sqs.get_queue_attributes(QueueUrl=work, AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"]
    )
    declared = next(
        value
        for key, value in template["Resources"].items()
        if key.startswith("TenantProbeWorkQueue") and value["Type"] == "AWS::SQS::Queue"
    )["Properties"]["RedrivePolicy"]
    assert redrive["maxReceiveCount"] == declared["maxReceiveCount"]
    assert redrive["deadLetterTargetArn"].endswith(_queue(deployed, "TenantProbeWorkDeadLetters").rsplit("/", 1)[-1])


def test_a_bad_message_fails_alone_and_ends_in_the_dead_letter_queue(
    runner: LocalRunner, deployed: Any, scene: Scene, table: Any, unique: str
) -> None:
    # Given two connected tenants and one malformed message between them
    for suffix in ("a", "b"):
        company = scene.new_company(f"Bolag {suffix}")
        connect_service_account(
            table,
            scene.control,
            scene.app,
            tenant_id=TenantId(f"{unique}-{suffix}"),
            fortnox_tenant_id=company,
            display_name=f"Tenant {suffix}",
        )
    sqs = boto3.client("sqs", region_name=REGION)
    work = _queue(deployed, "TenantProbeWorkQueue")
    sqs.send_message(QueueUrl=work, MessageBody=json.dumps({"tenant_id": f"{unique}-a"}))
    sqs.send_message(QueueUrl=work, MessageBody='{"tenant_id": 42, "extra": "<script>"}')
    sqs.send_message(QueueUrl=work, MessageBody=json.dumps({"tenant_id": f"{unique}-b"}))

    # When the runner delivers the queue to the function until it is empty
    outcomes = runner.drain(runner.function("TenantProbeFunction"))

    # Then both good tenants were probed once, and the bad message was tried 5 times and dead-lettered
    tenants = TenantStore(table)
    for suffix in ("a", "b"):
        stored = tenants.get(TenantId(f"{unique}-{suffix}"))
        assert stored is not None and stored.last_probe is not None
        assert stored.last_probe.company_name == f"Bolag {suffix}"
        assert stored.last_probe.financial_year_for_today
    assert sum(outcome.failed for outcome in outcomes) == 5
    dead = sqs.receive_message(QueueUrl=_queue(deployed, "TenantProbeWorkDeadLetters"), MaxNumberOfMessages=10)
    assert [message["Body"] for message in dead["Messages"]] == ['{"tenant_id": 42, "extra": "<script>"}']


def test_an_unknown_tenant_is_refused_without_retries(runner: LocalRunner, deployed: Any, unique: str) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    sqs.send_message(
        QueueUrl=_queue(deployed, "TenantProbeWorkQueue"), MessageBody=json.dumps({"tenant_id": f"ghost-{unique}"})
    )
    outcomes = runner.drain(runner.function("TenantProbeFunction"))
    assert [(outcome.received, outcome.failed) for outcome in outcomes] == [(1, 0)]


def test_the_probe_sees_a_missing_financial_year(
    runner: LocalRunner, deployed: Any, scene: Scene, table: Any, unique: str
) -> None:
    company = scene.new_company("Glömsk AB")
    for year_id in (1, 2, 3):
        scene.control.delete_financial_year(company, year_id)
    connect_service_account(
        table, scene.control, scene.app, tenant_id=TenantId(unique), fortnox_tenant_id=company, display_name="Glömsk"
    )
    sqs = boto3.client("sqs", region_name=REGION)
    sqs.send_message(QueueUrl=_queue(deployed, "TenantProbeWorkQueue"), MessageBody=json.dumps({"tenant_id": unique}))
    runner.drain(runner.function("TenantProbeFunction"))
    stored = TenantStore(table).get(TenantId(unique))
    assert stored is not None and stored.last_probe is not None
    assert stored.last_probe.financial_year_for_today is False
