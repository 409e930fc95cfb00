"""The session's IAM guard (tests/iam_guard.py) refuses what a role lacks, on the resource IAM would ask about.

Each case records one call as a function's code makes it, through botocore's own hooks on a client of its own
session (a Stubber answers, so nothing reaches moto and the session-wide record stays the suite's), and checks it
against the synthesized template, or a copy with one grant taken out.
"""

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from infra.names import STACK_NAME
from local_stack.deploy import DeployedStack
from local_stack.moto_server import REGION
from local_stack.runner import Invocation, LocalRunner, current_invocation
from tests.iam_guard import Recorder

TENANT_TOKENS = f"fortnox-bridge/{STACK_NAME}/tenants/acme"
WEBHOOK_SECRET = f"fortnox-bridge/{STACK_NAME}/webhooks/acme"


def _physical(deployed: DeployedStack, prefix: str) -> str:
    return next(value for key, value in deployed.physical_ids.items() if key.startswith(prefix))


@contextmanager
def _as_function(deployed: DeployedStack, prefix: str) -> Iterator[None]:
    spec = next(spec for spec in deployed.functions if spec.logical_id.startswith(prefix))
    watched = current_invocation.set(Invocation(deployed, spec))
    try:
        yield
    finally:
        current_invocation.reset(watched)


_ANSWERS: dict[str, dict[str, Any]] = {"send_message_batch": {"Successful": [], "Failed": []}}
"""The least answer each operation's model accepts, where an empty one is not."""


class _Calls:
    """Clients of one private session, each call answered empty by a Stubber after the recorder saw it."""

    def __init__(self, recorder: Recorder) -> None:
        self._session = boto3.session.Session(region_name=REGION)
        recorder.install(self._session)

    def make(self, service: str, operation: str, **params: Any) -> None:
        client = self._session.client(service)  # type: ignore[call-overload]
        with Stubber(client) as stubber:
            stubber.add_response(operation, _ANSWERS.get(operation, {}))
            getattr(client, operation)(**params)


@pytest.fixture
def recorder(deployed: DeployedStack, template: dict[str, Any]) -> Recorder:
    recorder = Recorder()
    recorder.watch(deployed, template)
    return recorder


def _refused(recorder: Recorder) -> list[str]:
    return [f"{refusal.function.rstrip('0123456789ABCDEF')} {refusal.action}" for refusal in recorder.refusals()]


def _without(template: dict[str, Any], role_prefix: str, action: str) -> dict[str, Any]:
    """The template with ``action`` taken out of the statements of the role's policies."""
    changed = copy.deepcopy(template)
    for resource in changed["Resources"].values():
        if resource["Type"] != "AWS::IAM::Policy" or not resource["Properties"]["Roles"][0]["Ref"].startswith(
            role_prefix
        ):
            continue
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            if isinstance(statement["Action"], list) and action in statement["Action"]:
                statement["Action"] = [other for other in statement["Action"] if other != action]
    return changed


def _pause_transaction(deployed: DeployedStack) -> dict[str, Any]:
    """What ``PaymentSchedule.pause`` sends: the schedule out of the poll index if the connection is still lost."""
    table = _physical(deployed, "StateTable")
    key = {"PK": {"S": "TENANT#acme"}, "SK": {"S": "PAYMENT_SCHEDULE"}}
    return {
        "TransactItems": [
            {"Update": {"TableName": table, "Key": key, "UpdateExpression": "REMOVE GSI1PK"}},
            {
                "ConditionCheck": {
                    "TableName": table,
                    "Key": {"PK": {"S": "TENANT#acme"}, "SK": {"S": "CONNECTION"}},
                    "ConditionExpression": "attribute_exists(PK)",
                }
            },
        ]
    }


def test_a_transactions_condition_check_needs_its_own_grant(
    deployed: DeployedStack, template: dict[str, Any], recorder: Recorder
) -> None:
    """The bug the guard was built for: moto ran the pause's transaction, AWS would have refused all of it."""
    calls = _Calls(recorder)
    with _as_function(deployed, "PaymentSyncPoller"):
        calls.make("dynamodb", "transact_write_items", **_pause_transaction(deployed))
    assert _refused(recorder) == []

    recorder.watch(deployed, _without(template, "PaymentSyncPollerRole", "dynamodb:ConditionCheckItem"))

    assert _refused(recorder) == ["PaymentSyncPollerFunction dynamodb:ConditionCheckItem"]
    assert recorder.refusals()[0].resources == (
        f"arn:aws:dynamodb:{REGION}:123456789012:table/{_physical(deployed, 'StateTable')}",
    )


def test_a_query_of_an_index_needs_the_index_not_the_table(deployed: DeployedStack, recorder: Recorder) -> None:
    calls = _Calls(recorder)
    table = _physical(deployed, "StateTable")
    query = {"TableName": table, "KeyConditionExpression": "PK = :pk", "ExpressionAttributeValues": {":pk": {"S": "x"}}}
    with _as_function(deployed, "VoucherExportExporter"):
        calls.make("dynamodb", "query", **query)  # its company's partition: granted on the table
    assert _refused(recorder) == []

    with _as_function(deployed, "VoucherExportExporter"):
        calls.make("dynamodb", "query", IndexName="GSI1", **query)

    assert _refused(recorder) == ["VoucherExportExporterFunction dynamodb:Query"]
    assert recorder.refusals()[0].resources[0].endswith(f"table/{table}/index/GSI1")


def test_each_kind_of_secret_is_reachable_only_by_the_roles_granted_it(
    deployed: DeployedStack, recorder: Recorder
) -> None:
    calls = _Calls(recorder)
    signing_key = _physical(deployed, "ConnectSigningKey")
    client_secret = _physical(deployed, "FortnoxClientSecret")
    with _as_function(deployed, "PaymentSyncWebhookDeliverer"):
        calls.make("secretsmanager", "get_secret_value", SecretId=WEBHOOK_SECRET)
    with _as_function(deployed, "ConnectKeepAlive"):
        calls.make("secretsmanager", "get_secret_value", SecretId=TENANT_TOKENS)
        calls.make("secretsmanager", "get_secret_value", SecretId=client_secret)
    with _as_function(deployed, "FailureDigest"):
        calls.make("secretsmanager", "get_secret_value", SecretId=signing_key)
    assert _refused(recorder) == []

    # Given each function a secret of a kind its role does not name
    with _as_function(deployed, "PaymentSyncWebhookDeliverer"):
        calls.make("secretsmanager", "get_secret_value", SecretId=TENANT_TOKENS)
    with _as_function(deployed, "ConnectKeepAlive"):
        calls.make("secretsmanager", "get_secret_value", SecretId=signing_key)
    with _as_function(deployed, "FailureDigest"):
        calls.make("secretsmanager", "get_secret_value", SecretId=client_secret)
    with _as_function(deployed, "InvoiceExportExporter"):
        calls.make("secretsmanager", "get_secret_value", SecretId=WEBHOOK_SECRET)

    assert _refused(recorder) == [
        "ConnectKeepAliveFunction secretsmanager:GetSecretValue",
        "FailureDigestFunction secretsmanager:GetSecretValue",
        "InvoiceExportExporterFunction secretsmanager:GetSecretValue",
        "PaymentSyncWebhookDelivererFunction secretsmanager:GetSecretValue",
    ]


def test_a_secret_is_created_only_with_the_key_the_role_names(deployed: DeployedStack, recorder: Recorder) -> None:
    calls = _Calls(recorder)
    tenant_key = _physical(deployed, "KeysTenantSecretsKey")
    with _as_function(deployed, "ConnectManagement"):
        calls.make("secretsmanager", "create_secret", Name=WEBHOOK_SECRET, KmsKeyId=tenant_key, SecretString="x")
    assert _refused(recorder) == []

    with _as_function(deployed, "ConnectManagement"):
        calls.make(
            "secretsmanager", "create_secret", Name=WEBHOOK_SECRET, KmsKeyId=_physical(deployed, "KeysSigningKey")
        )

    assert _refused(recorder) == ["ConnectManagementFunction secretsmanager:CreateSecret"]


def test_a_batch_send_needs_send_message_on_that_queue(deployed: DeployedStack, recorder: Recorder) -> None:
    calls = _Calls(recorder)
    entries = [{"Id": "1", "MessageBody": "{}"}]
    with _as_function(deployed, "PaymentSyncFanOut"):
        calls.make(
            "sqs", "send_message_batch", QueueUrl=_physical(deployed, "PaymentSyncPollWorkQueue"), Entries=entries
        )
    assert _refused(recorder) == []

    with _as_function(deployed, "PaymentSyncFanOut"):
        calls.make("sqs", "send_message_batch", QueueUrl=_physical(deployed, "InvoiceExportWorkQueue"), Entries=entries)

    assert _refused(recorder) == ["PaymentSyncFanOutFunction sqs:SendMessage"]


def test_the_session_guard_sees_a_functions_own_clients_and_not_the_tests(
    runner: LocalRunner, deployed: DeployedStack, iam_guard: Recorder
) -> None:
    """Through the real handler: the payment fan-out's tick reads the tenants due from GSI1 with the bridge's client;
    what a test asks AWS itself (here, the table's description) is no function's call."""
    boto3.client("dynamodb", region_name=REGION).describe_table(TableName=_physical(deployed, "StateTable"))
    fan_out = runner.function("PaymentSyncFanOut")

    runner.run_scheduled(fan_out)

    seen = {(call.function, call.action) for call in iam_guard.calls}
    assert (fan_out.logical_id, "dynamodb:Query") in seen
    assert not any(action == "dynamodb:DescribeTable" for _, action in seen)
