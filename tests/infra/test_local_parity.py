"""Local parity: a queue setting changed in CDK is what the local queue and the local runner do, because both come
from the synthesized template and nothing else (docs/decisions.md, "the local stack")."""

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from fortnox_bridge import wiring
from infra import names
from infra.app import build_app
from infra.constructs import tenant_probe, work_queue
from local_stack.deploy import deploy
from local_stack.moto_server import REGION
from local_stack.runner import LocalRunner
from local_stack.stack import LOCAL_CLIENT_ID

pytestmark = pytest.mark.integration

CHANGED_TIMEOUT_SECONDS = 45
CHANGED_BATCH_SIZE = 3
CHANGED_MAX_RECEIVE_COUNT = 2
STAGE = "parity"
"""A stage of its own, so its named resources (the event bus) stand beside the session's stack in the same moto."""


@pytest.fixture(scope="module")
def changed_stack(
    layer_dir: Path, tmp_path_factory: pytest.TempPathFactory, moto_url: str, aws_env: dict[str, str]
) -> Any:
    """The app with the tenant probe's timeout and batch size and every queue's redrive count changed the way a
    developer changes them (in the numbers the constructs read), synthesized and deployed into moto."""
    assert CHANGED_TIMEOUT_SECONDS != names.TENANT_PROBE_TIMEOUT_SECONDS
    assert CHANGED_BATCH_SIZE != names.TENANT_PROBE_BATCH_SIZE
    assert CHANGED_MAX_RECEIVE_COUNT != names.MAX_RECEIVE_COUNT
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tenant_probe, "TENANT_PROBE_TIMEOUT_SECONDS", CHANGED_TIMEOUT_SECONDS)
        patch.setattr(tenant_probe, "TENANT_PROBE_BATCH_SIZE", CHANGED_BATCH_SIZE)
        patch.setattr(work_queue, "MAX_RECEIVE_COUNT", CHANGED_MAX_RECEIVE_COUNT)
        app = build_app(
            layer_dir=layer_dir,
            outdir=tmp_path_factory.mktemp("cdk.out.parity"),
            context={"fortnox_client_id": LOCAL_CLIENT_ID, "stage": STAGE},
        )
        template: dict[str, Any] = app.synth().get_stack_by_name(names.stack_name(STAGE)).template
    return deploy(template, moto_url, stack_name=names.stack_name(STAGE))


def _physical(deployed: Any, prefix: str) -> str:
    return str(next(value for key, value in deployed.physical_ids.items() if key.startswith(prefix)))


def test_a_queue_setting_changed_in_cdk_is_what_the_local_queue_does(changed_stack: Any) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    attributes = sqs.get_queue_attributes(
        QueueUrl=_physical(changed_stack, "TenantProbeWorkQueue"), AttributeNames=["VisibilityTimeout", "RedrivePolicy"]
    )["Attributes"]
    # Six times the function's timeout, as work_queue.py derives it.
    assert int(attributes["VisibilityTimeout"]) == CHANGED_TIMEOUT_SECONDS * 6
    assert int(json.loads(attributes["RedrivePolicy"])["maxReceiveCount"]) == CHANGED_MAX_RECEIVE_COUNT


def test_the_local_runner_delivers_in_the_templates_batches_until_its_redrive_count(changed_stack: Any) -> None:
    """Through the real probe handler: a body that is no probe request fails alone and goes round again, so each
    message is delivered exactly the changed redrive count of times, in batches of the changed size, and then lies
    in the dead-letter queue."""
    deployed = changed_stack
    sqs = boto3.client("sqs", region_name=REGION)
    messages = 4
    for index in range(messages):
        sqs.send_message(QueueUrl=_physical(deployed, "TenantProbeWorkQueue"), MessageBody=f"not a probe {index}")
    # The API's address is a template reference moto has nothing for; the probe never builds a link anyway.
    runner = LocalRunner(deployed, overrides={"PUBLIC_BASE_URL": "http://127.0.0.1:9"})
    try:
        outcomes = runner.drain(runner.function("TenantProbe"))
    finally:
        wiring.reset()

    assert outcomes[0].received == CHANGED_BATCH_SIZE
    assert max(outcome.received for outcome in outcomes) == CHANGED_BATCH_SIZE
    assert all(outcome.failed == outcome.received for outcome in outcomes)
    assert sum(outcome.received for outcome in outcomes) == messages * CHANGED_MAX_RECEIVE_COUNT
    dead = sqs.get_queue_attributes(
        QueueUrl=_physical(deployed, "TenantProbeWorkDeadLetters"), AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert int(dead["ApproximateNumberOfMessages"]) == messages
