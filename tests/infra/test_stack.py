"""Assertions on the synthesized template: one per resource the stack defines."""

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from infra.names import MAX_RECEIVE_COUNT, TENANT_PROBE_BATCH_SIZE


@pytest.fixture(scope="module")
def assertions(template: dict[str, Any]) -> Template:
    return Template.from_json(template)


def _function(template: dict[str, Any], source: str) -> dict[str, Any]:
    return next(
        resource
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
        and resource.get("Metadata", {}).get("FortnoxBridge:Source") == f"functions/{source}"
    )


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


def test_every_work_queue_redrives_to_a_dead_letter_queue_and_outlasts_its_function(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    queues = {key: value for key, value in resources.items() if value["Type"] == "AWS::SQS::Queue"}
    mappings = [
        value["Properties"] for value in resources.values() if value["Type"] == "AWS::Lambda::EventSourceMapping"
    ]
    assert len(mappings) == 2
    for mapping in mappings:
        work = queues[mapping["EventSourceArn"]["Fn::GetAtt"][0]]["Properties"]
        dead_letter_id = work["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        assert work["RedrivePolicy"]["maxReceiveCount"] == MAX_RECEIVE_COUNT
        assert queues[dead_letter_id]["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
        function = resources[mapping["FunctionName"]["Ref"]]["Properties"]
        # Visibility timeout is six times the function timeout, so a retry never overlaps a run.
        assert work["VisibilityTimeout"] == 6 * function["Timeout"]
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert len(queues) == 4


def test_pdf_bucket_is_private_encrypted_and_tls_only(assertions: Template) -> None:
    assertions.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
        },
    )
    assertions.resource_count_is("AWS::S3::BucketPolicy", 1)


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


@pytest.mark.parametrize(
    "source", ["tenant_probe", "management_api", "hosted_connect", "connection_keepalive", "invoice_export"]
)
def test_every_function_uses_the_layer_and_is_configured_from_the_stack(template: dict[str, Any], source: str) -> None:
    properties = _function(template, source)["Properties"]
    assert properties["Runtime"] == "python3.12"
    assert properties["Handler"] == "handler.lambda_handler"
    assert properties["Layers"][0]["Ref"].startswith("SharedLayer")
    assert properties["TracingConfig"] == {"Mode": "Active"}
    variables = properties["Environment"]["Variables"]
    assert variables["TABLE_NAME"]["Ref"].startswith("StateTable")
    assert variables["FORTNOX_CLIENT_SECRET_ID"]["Ref"].startswith("FortnoxClientSecret")
    assert variables["EVENT_BUS_NAME"]["Ref"].startswith("Events")
    assert (variables["FORTNOX_API_URL"], variables["FORTNOX_AUTH_URL"]) == (
        "https://api.fortnox.se",
        "https://apps.fortnox.se",
    )


def test_probe_event_source_reports_batch_item_failures(assertions: Template) -> None:
    assertions.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {"BatchSize": TENANT_PROBE_BATCH_SIZE, "FunctionResponseTypes": ["ReportBatchItemFailures"]},
    )


def _statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    policies = [value for value in template["Resources"].values() if value["Type"] == "AWS::IAM::Policy"]
    return [statement for policy in policies for statement in policy["Properties"]["PolicyDocument"]["Statement"]]


def _actions(statement: dict[str, Any]) -> list[str]:
    return statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]


def test_function_roles_are_least_privilege(template: dict[str, Any]) -> None:
    for statement in _statements(template):
        actions = _actions(statement)
        assert not any(action.endswith("*") for action in actions), statement
        if any(action.startswith(("dynamodb:", "secretsmanager:", "events:", "s3:")) for action in actions):
            assert statement["Resource"] != "*", statement
    dynamo = {
        action
        for statement in _statements(template)
        for action in _actions(statement)
        if action.startswith("dynamodb:")
    }
    assert dynamo == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:Query",
    }


def test_tenant_secrets_are_reachable_only_under_their_prefix(template: dict[str, Any]) -> None:
    creating = [
        statement for statement in _statements(template) if "secretsmanager:CreateSecret" in _actions(statement)
    ]
    assert creating
    for statement in creating:
        resource = json.dumps(statement["Resource"])
        assert "secret:fortnox-bridge/tenants/*" in resource


def test_management_routes_need_iam_and_hosted_routes_are_public(template: dict[str, Any]) -> None:
    routes = {
        value["Properties"]["RouteKey"]: value["Properties"].get("AuthorizationType", "NONE")
        for value in template["Resources"].values()
        if value["Type"] == "AWS::ApiGatewayV2::Route"
    }
    assert routes == {
        "PUT /tenants/{tenant_id}": "AWS_IAM",
        "GET /tenants/{tenant_id}": "AWS_IAM",
        "PUT /tenants/{tenant_id}/settings": "AWS_IAM",
        "GET /tenants/{tenant_id}/settings": "AWS_IAM",
        "PUT /tenants/{tenant_id}/mapping": "AWS_IAM",
        "GET /tenants/{tenant_id}/mapping": "AWS_IAM",
        "POST /tenants/{tenant_id}/connect-links": "AWS_IAM",
        "DELETE /tenants/{tenant_id}/connect-links": "AWS_IAM",
        "DELETE /tenants/{tenant_id}/connect-links/{link_id}": "AWS_IAM",
        "DELETE /tenants/{tenant_id}/connection": "AWS_IAM",
        "GET /connect/{link_token}": "NONE",
        "GET /oauth/callback": "NONE",
    }


def test_keepalive_runs_daily(assertions: Template) -> None:
    assertions.has_resource_properties("AWS::Events::Rule", {"ScheduleExpression": "rate(1 day)", "State": "ENABLED"})


def test_events_go_to_the_bridge_bus(assertions: Template) -> None:
    assertions.resource_count_is("AWS::Events::EventBus", 1)


def test_state_signing_key_is_generated(assertions: Template) -> None:
    assertions.has_resource_properties(
        "AWS::SecretsManager::Secret", {"GenerateSecretString": Match.object_like({"PasswordLength": 64})}
    )


def test_client_secret_and_signing_key_live_in_secrets_manager(assertions: Template) -> None:
    assertions.resource_count_is("AWS::SecretsManager::Secret", 2)


def test_logs_are_kept_a_month(assertions: Template) -> None:
    assertions.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 30})


def test_the_management_api_never_writes_tokens(template: dict[str, Any]) -> None:
    role = next(
        key
        for key, value in template["Resources"].items()
        if value["Type"] == "AWS::IAM::Role" and key.startswith("ConnectManagementRole")
    )
    policies = [
        value
        for value in template["Resources"].values()
        if value["Type"] == "AWS::IAM::Policy" and {"Ref": role} in value["Properties"]["Roles"]
    ]
    actions = {
        action
        for policy in policies
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for action in _actions(statement)
    }
    assert "secretsmanager:DeleteSecret" in actions
    assert not actions & {"secretsmanager:PutSecretValue", "secretsmanager:CreateSecret"}
