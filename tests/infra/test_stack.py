"""Assertions on the synthesized template: one per resource the stack defines."""

from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from infra.names import MAX_RECEIVE_COUNT, TENANT_PROBE_BATCH_SIZE


@pytest.fixture(scope="module")
def assertions(template: dict[str, Any]) -> Template:
    return Template.from_json(template)


def _one(template: dict[str, Any], kind: str) -> dict[str, Any]:
    found = [resource for resource in template["Resources"].values() if resource["Type"] == kind]
    assert len(found) == 1, f"expected one {kind}"
    return found[0]


def test_state_table_has_the_documented_keys_ttl_gsi_and_recovery(assertions: Template) -> None:
    assertions.has_resource(
        "AWS::DynamoDB::Table",
        {
            "DeletionPolicy": "Retain",
            "Properties": Match.object_like(
                {
                    "KeySchema": [
                        {"AttributeName": "PK", "KeyType": "HASH"},
                        {"AttributeName": "SK", "KeyType": "RANGE"},
                    ],
                    "BillingMode": "PAY_PER_REQUEST",
                    "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
                    "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                    "SSESpecification": {"SSEEnabled": True},
                    "DeletionProtectionEnabled": True,
                    "GlobalSecondaryIndexes": [Match.object_like({"IndexName": "GSI1"})],
                }
            ),
        },
    )


def test_work_queue_redrives_to_its_dead_letter_queue(assertions: Template, template: dict[str, Any]) -> None:
    queues = {key: value for key, value in template["Resources"].items() if value["Type"] == "AWS::SQS::Queue"}
    assert len(queues) == 2
    work = next(value for value in queues.values() if "RedrivePolicy" in value["Properties"])
    dead_letter_id = work["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    assert work["Properties"]["RedrivePolicy"]["maxReceiveCount"] == MAX_RECEIVE_COUNT
    assert queues[dead_letter_id]["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    # Visibility timeout is six times the function timeout.
    function = _one(template, "AWS::Lambda::Function")
    assert work["Properties"]["VisibilityTimeout"] == 6 * function["Properties"]["Timeout"]
    assertions.resource_count_is("AWS::SQS::QueuePolicy", 2)  # enforce TLS on both queues


def test_shared_layer_targets_the_lambda_runtime(assertions: Template) -> None:
    assertions.has_resource_properties(
        "AWS::Lambda::LayerVersion",
        {"CompatibleRuntimes": ["python3.12"], "CompatibleArchitectures": ["x86_64"]},
    )


def test_layer_holds_manylinux_wheels_for_python_312_and_our_package(layer_dir: Path) -> None:
    site = layer_dir / "python"
    assert (site / "fortnox_bridge" / "fortnox" / "client.py").exists()
    assert list(site.glob("pydantic_core/_pydantic_core.cpython-312-x86_64-linux-gnu.so"))
    assert (site / "aws_lambda_powertools").is_dir()


def test_tenant_probe_function_uses_the_layer_and_is_configured_from_the_stack(assertions: Template) -> None:
    assertions.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Runtime": "python3.12",
            "Handler": "handler.lambda_handler",
            "Layers": [{"Ref": Match.string_like_regexp("SharedLayer")}],
            "TracingConfig": {"Mode": "Active"},
            "Environment": {
                "Variables": Match.object_like(
                    {
                        "TABLE_NAME": {"Ref": Match.string_like_regexp("StateTable")},
                        "FORTNOX_CLIENT_SECRET_ID": {"Ref": Match.string_like_regexp("FortnoxClientSecret")},
                        "FORTNOX_API_URL": "https://api.fortnox.se",
                        "FORTNOX_AUTH_URL": "https://apps.fortnox.se",
                    }
                )
            },
        },
    )


def test_event_source_reports_batch_item_failures(assertions: Template) -> None:
    assertions.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {"BatchSize": TENANT_PROBE_BATCH_SIZE, "FunctionResponseTypes": ["ReportBatchItemFailures"]},
    )


def test_function_role_is_least_privilege(template: dict[str, Any]) -> None:
    policies = [value for value in template["Resources"].values() if value["Type"] == "AWS::IAM::Policy"]
    statements = [statement for policy in policies for statement in policy["Properties"]["PolicyDocument"]["Statement"]]
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert not any(action.endswith("*") and not action.startswith("xray") for action in actions), statement
        if any(action.startswith(("dynamodb:", "secretsmanager:")) for action in actions):
            assert statement["Resource"] != "*"
    dynamo_actions = {
        action
        for statement in statements
        for action in (statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
        if action.startswith("dynamodb:")
    }
    assert dynamo_actions == {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}


def test_client_secret_lives_in_secrets_manager(assertions: Template) -> None:
    assertions.resource_count_is("AWS::SecretsManager::Secret", 1)


def test_logs_are_kept_a_month(assertions: Template) -> None:
    assertions.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 30})
