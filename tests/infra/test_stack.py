"""Assertions on the synthesized template (one per resource the stack defines), and on the local stack that runs it."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from fortnox_bridge.settings import tenant_secret_prefix, webhook_secret_prefix
from fortnox_bridge.store.table import EXPORTED_INDEX
from infra.names import (
    DEFAULT_NOTIFICATION_SENDER,
    FAILURE_DIGEST_EVERY_MINUTES,
    FUNCTIONS_DIR,
    MAX_RECEIVE_COUNT,
    PAYMENT_FAN_OUT_TIMEOUT_SECONDS,
    PAYMENT_POLL_BATCH_SIZE,
    PAYMENT_SCHEDULE_EVERY_MINUTES,
    STACK_NAME,
    TENANT_PROBE_BATCH_SIZE,
    VOUCHER_EXPORT_BATCH_SIZE,
    WEBHOOK_DELIVERY_BATCH_SIZE,
)
from tests.conftest import LOCAL_API_KEY

# -- secret names scoped to the stack (issue 12) ---------------------------------------------------------------------
TENANT_SECRETS = tenant_secret_prefix(f"fortnox-bridge/{STACK_NAME}")
WEBHOOK_SECRETS = webhook_secret_prefix(f"fortnox-bridge/{STACK_NAME}")
# -- end of secret names ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def assertions(template: dict[str, Any]) -> Template:
    return Template.from_json(template)


def _function_id(template: dict[str, Any], source: str) -> str:
    return next(
        key
        for key, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
        and resource.get("Metadata", {}).get("FortnoxBridge:Source") == f"functions/{source}"
    )


def _function(template: dict[str, Any], source: str) -> dict[str, Any]:
    resource: dict[str, Any] = template["Resources"][_function_id(template, source)]
    return resource


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
                    "GlobalSecondaryIndexes": [
                        Match.object_like({"IndexName": "GSI1"}),
                        Match.object_like({"IndexName": EXPORTED_INDEX}),
                    ],
                }
            ),
        },
    )


# -- the status page's recent exports -------------------------------------------------------------------------------
def test_the_newest_exports_are_a_keys_only_index_by_company_and_export_time(template: dict[str, Any]) -> None:
    table = template["Resources"][_logical_id(template, "StateTable", "AWS::DynamoDB::Table")]["Properties"]
    [index] = [index for index in table["GlobalSecondaryIndexes"] if index["IndexName"] == EXPORTED_INDEX]
    assert index["KeySchema"] == [
        {"AttributeName": "GSI2PK", "KeyType": "HASH"},
        {"AttributeName": "GSI2SK", "KeyType": "RANGE"},
    ]
    assert index["Projection"] == {"ProjectionType": "KEYS_ONLY"}


def _sources(template: dict[str, Any]) -> list[str]:
    return [
        resource["Metadata"]["FortnoxBridge:Source"].removeprefix("functions/")
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function" and "FortnoxBridge:Source" in resource.get("Metadata", {})
    ]


def test_only_the_export_reviewers_may_read_the_newest_exports_and_the_status_page_no_other_index(
    template: dict[str, Any],
) -> None:
    """The hosted status page (public) and the management API, which review exports, query the newest-exports index
    and batch-read the entries it names. GSI1, which lists every tenant's connections, stays out of the status
    page's reach."""
    table = {"Fn::GetAtt": [_logical_id(template, "StateTable", "AWS::DynamoDB::Table"), "Arn"]}
    newest = {"Fn::Join": ["", [table, f"/index/{EXPORTED_INDEX}"]]}
    readers = {
        source for source in _sources(template) if newest in _role_actions(template, source).get("dynamodb:Query", [])
    }
    assert readers == {"hosted_connect", "management_api"}
    hosted = _role_actions(template, "hosted_connect")
    assert hosted["dynamodb:BatchGetItem"] == [table]
    assert [resource for resource in hosted["dynamodb:Query"] if "/index/" in json.dumps(resource)] == [newest]


# -- end of the status page's recent exports --------------------------------------------------------------------------


def test_every_work_queue_redrives_to_a_dead_letter_queue_and_outlasts_its_function(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    queues = {key: value for key, value in resources.items() if value["Type"] == "AWS::SQS::Queue"}
    mappings = [
        value["Properties"] for value in resources.values() if value["Type"] == "AWS::Lambda::EventSourceMapping"
    ]
    assert len(mappings) == 5
    for mapping in mappings:
        work = queues[mapping["EventSourceArn"]["Fn::GetAtt"][0]]["Properties"]
        dead_letter_id = work["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        assert work["RedrivePolicy"]["maxReceiveCount"] == MAX_RECEIVE_COUNT
        assert queues[dead_letter_id]["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
        function = resources[mapping["FunctionName"]["Ref"]]["Properties"]
        # Visibility timeout is six times the function timeout, so a retry never overlaps a run.
        assert work["VisibilityTimeout"] == 6 * function["Timeout"]
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # Five work queues and their dead letters, and the three schedules' dead letters (payment fan-out, keep-alive,
    # failure digest).
    assert len(queues) == 13


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
        {"CompatibleRuntimes": ["python3.12"], "CompatibleArchitectures": ["arm64"]},
    )


def test_layer_holds_manylinux_wheels_for_python_312_and_our_package(layer_dir: Path) -> None:
    site = layer_dir / "python"
    assert (site / "fortnox_bridge" / "fortnox" / "client.py").exists()
    assert list(site.glob("pydantic_core/_pydantic_core.cpython-312-aarch64-linux-gnu.so"))
    assert (site / "aws_lambda_powertools").is_dir()


@pytest.mark.parametrize(
    "source",
    [
        "tenant_probe",
        "management_api",
        "hosted_connect",
        "connection_keepalive",
        "invoice_export",
        "voucher_export",
        "failure_digest",
        "payment_schedule",
        "payment_poll",
        "webhook_delivery",
    ],
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
        if any(
            action.startswith(("dynamodb:", "secretsmanager:", "events:", "s3:", "sqs:", "ses:")) for action in actions
        ):
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
        "dynamodb:ConditionCheckItem",
        "dynamodb:Query",
        "dynamodb:BatchGetItem",
    }


def test_tenant_secrets_are_reachable_only_under_their_prefix(template: dict[str, Any]) -> None:
    creating = [
        statement for statement in _statements(template) if "secretsmanager:CreateSecret" in _actions(statement)
    ]
    assert creating
    for statement in creating:
        resource = json.dumps(statement["Resource"])
        # The connect flow creates token secrets; the management API creates webhook signing secrets.
        assert f"secret:{TENANT_SECRETS}*" in resource or f"secret:{WEBHOOK_SECRETS}*" in resource


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
        "GET /tenants/{tenant_id}/mapping/check": "AWS_IAM",
        "GET /tenants/{tenant_id}/exports": "AWS_IAM",
        "POST /tenants/{tenant_id}/exports/retry-failed": "AWS_IAM",
        "GET /tenants/{tenant_id}/exports/{export_id}": "AWS_IAM",
        "POST /tenants/{tenant_id}/exports/{export_id}/retry": "AWS_IAM",
        "POST /tenants/{tenant_id}/exports/{export_id}/mark-exported": "AWS_IAM",
        "GET /tenants/{tenant_id}/exports/{export_id}/sie": "AWS_IAM",
        "POST /tenants/{tenant_id}/status-links": "AWS_IAM",
        "DELETE /tenants/{tenant_id}/status-links": "AWS_IAM",
        "GET /tenants/{tenant_id}/payment-sync": "AWS_IAM",
        "POST /tenants/{tenant_id}/payment-sync/resync": "AWS_IAM",
        "POST /tenants/{tenant_id}/webhook-secret": "AWS_IAM",
        "GET /connect/{link_token}": "NONE",
        "GET /oauth/callback": "NONE",
        # The bookkeeper's status page: the signed link in the path is its only key, as for connect links.
        "GET /status/{token}": "NONE",
        "POST /status/{token}/exports/{export_id}/retry": "NONE",
        "POST /status/{token}/exports/{export_id}/mark-exported": "NONE",
        "GET /status/{token}/exports/{export_id}/sie": "NONE",
    }


@pytest.mark.parametrize("source", ["management_api", "hosted_connect"])
def test_the_api_has_a_route_for_every_route_its_handler_serves_and_no_other(
    template: dict[str, Any], source: str
) -> None:
    """A route the handler serves but the API lacks answers 404 in AWS while every local test passes."""
    handler = (FUNCTIONS_DIR / source / "handler.py").read_text()
    served = {
        f"{method.upper()} {re.sub(r'<[^>]+>', '{}', path)}"
        for method, path in re.findall(r'^@app\.(get|post|put|delete)\("([^"]+)"', handler, flags=re.MULTILINE)
    }
    function_id = _function_id(template, source)
    integrations = {
        key
        for key, value in template["Resources"].items()
        if value["Type"] == "AWS::ApiGatewayV2::Integration"
        and value["Properties"]["IntegrationUri"] == {"Fn::GetAtt": [function_id, "Arn"]}
    }
    routed = {
        re.sub(r"\{[^}]+\}", "{}", value["Properties"]["RouteKey"])
        for value in template["Resources"].values()
        if value["Type"] == "AWS::ApiGatewayV2::Route"
        and any(
            isinstance(part, dict) and part.get("Ref") in integrations
            for part in value["Properties"]["Target"]["Fn::Join"][1]
        )
    }
    assert served and routed == served


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


def _role_actions(template: dict[str, Any], source: str) -> dict[str, list[Any]]:
    """Each action the function's role may take, and the resources it may take it on."""
    role = _function(template, source)["Properties"]["Role"]["Fn::GetAtt"][0]
    granted: dict[str, list[Any]] = {}
    for value in template["Resources"].values():
        if value["Type"] != "AWS::IAM::Policy" or {"Ref": role} not in value["Properties"]["Roles"]:
            continue
        for statement in value["Properties"]["PolicyDocument"]["Statement"]:
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for action in _actions(statement):
                granted.setdefault(action, []).extend(resources)
    return granted


@pytest.mark.parametrize(
    "source",
    [
        "management_api",
        "hosted_connect",
        "connection_keepalive",
        "invoice_export",
        "voucher_export",
        "payment_poll",
        "tenant_probe",
    ],
)
def test_every_function_that_can_mark_a_connection_lost_may_check_it_in_a_transaction(
    template: dict[str, Any], source: str
) -> None:
    """Marking a connection lost or ended takes the tenant out of the payment poll index in a transaction with a
    condition check on the connection (``PaymentSchedule.pause``). moto grants everything; AWS refuses the whole
    transaction without ``ConditionCheckItem``, and the tenant would stay due while its connection is gone."""
    table = {"Fn::GetAtt": [_logical_id(template, "StateTable", "AWS::DynamoDB::Table"), "Arn"]}
    actions = _role_actions(template, source)
    assert table in actions.get("dynamodb:ConditionCheckItem", [])
    assert table in actions["dynamodb:UpdateItem"]


def test_the_invoice_exporter_may_read_a_records_tenant_in_one_batch(template: dict[str, Any]) -> None:
    """It reads a record's connection, profile, mapping and customer hash in one BatchGetItem (``TenantReader``);
    without the grant AWS refuses every invoice, where moto exported them all (found by tests/iam_guard.py)."""
    table = {"Fn::GetAtt": [_logical_id(template, "StateTable", "AWS::DynamoDB::Table"), "Arn"]}
    assert table in _role_actions(template, "invoice_export").get("dynamodb:BatchGetItem", [])


def _logical_id(template: dict[str, Any], prefix: str, resource_type: str) -> str:
    return next(
        key for key, value in template["Resources"].items() if key.startswith(prefix) and value["Type"] == resource_type
    )


def test_the_management_api_creates_no_token_secret(template: dict[str, Any]) -> None:
    """It ends connections (deletes a tenant's secret) and, for the mapping check, refreshes tokens as any Fortnox
    caller does; creating a tenant's token secret stays the connect flow's alone. The one secret it creates is a
    tenant's webhook signing secret (``POST /tenants/<tenant_id>/webhook-secret``)."""
    actions = _role_actions(template, "management_api")
    assert "secretsmanager:DeleteSecret" in actions
    assert "secretsmanager:PutSecretValue" in actions
    assert [_secret_prefix(resource) for resource in actions["secretsmanager:CreateSecret"]] == [f"{WEBHOOK_SECRETS}*"]


def test_voucher_exporter_reports_batch_item_failures_and_knows_its_last_delivery(template: dict[str, Any]) -> None:
    function_id = _function_id(template, "voucher_export")
    queue_id = _logical_id(template, "VoucherExportWorkQueue", "AWS::SQS::Queue")
    mapping = next(
        value["Properties"]
        for value in template["Resources"].values()
        if value["Type"] == "AWS::Lambda::EventSourceMapping"
        and value["Properties"]["FunctionName"] == {"Ref": function_id}
    )
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert mapping["BatchSize"] == VOUCHER_EXPORT_BATCH_SIZE
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    variables = _function(template, "voucher_export")["Properties"]["Environment"]["Variables"]
    assert variables["MAX_RECEIVE_COUNT"] == str(MAX_RECEIVE_COUNT)
    assert template["Outputs"]["VoucherQueueUrl"]["Value"] == {"Ref": queue_id}


def test_voucher_exporter_role_calls_fortnox_and_nothing_more(template: dict[str, Any]) -> None:
    actions = _role_actions(template, "voucher_export")
    queue_arn = {"Fn::GetAtt": [_logical_id(template, "VoucherExportWorkQueue", "AWS::SQS::Queue"), "Arn"]}
    assert set(actions) == {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:Query",
        "secretsmanager:GetSecretValue",
        "secretsmanager:PutSecretValue",
        "kms:Decrypt",
        "kms:GenerateDataKey",
        "events:PutEvents",
        "sqs:ReceiveMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueUrl",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
    }
    assert all(resource == queue_arn for resource in actions["sqs:DeleteMessage"])
    # Its company's partition (the cached setup, the ledger), not the index of every tenant's connections.
    table = _logical_id(template, "StateTable", "AWS::DynamoDB::Table")
    assert actions["dynamodb:Query"] == [{"Fn::GetAtt": [table, "Arn"]}]
    # Its own tenant tokens and the client secret, never the key that signs links.
    signing_key = {"Ref": _logical_id(template, "ConnectSigningKey", "AWS::SecretsManager::Secret")}
    assert signing_key not in actions["secretsmanager:GetSecretValue"]


@pytest.mark.parametrize("source", ["management_api", "hosted_connect"])
def test_retry_sends_only_to_the_invoice_and_voucher_work_queues(template: dict[str, Any], source: str) -> None:
    """The management API and the status page's buttons put a failed export's event back on its kind's queue:
    those two queues, never a dead-letter queue or the probe's."""
    invoice_queue = _logical_id(template, "InvoiceExportWorkQueue", "AWS::SQS::Queue")
    voucher_queue = _logical_id(template, "VoucherExportWorkQueue", "AWS::SQS::Queue")
    actions = _role_actions(template, source)
    assert sorted(json.dumps(resource) for resource in actions["sqs:SendMessage"]) == sorted(
        json.dumps({"Fn::GetAtt": [queue, "Arn"]}) for queue in (invoice_queue, voucher_queue)
    )
    variables = _function(template, source)["Properties"]["Environment"]["Variables"]
    assert variables["INVOICE_QUEUE_URL"] == {"Ref": invoice_queue}
    assert variables["VOUCHER_QUEUE_URL"] == {"Ref": voucher_queue}
    assert f"{_logical_id(template, 'StateTable', 'AWS::DynamoDB::Table')}" in json.dumps(actions["dynamodb:Query"])


def test_status_links_are_signed_with_the_connect_key(template: dict[str, Any]) -> None:
    signing_key = {"Ref": _logical_id(template, "ConnectSigningKey", "AWS::SecretsManager::Secret")}
    for source in ("management_api", "hosted_connect", "failure_digest"):
        assert signing_key in _role_actions(template, source)["secretsmanager:GetSecretValue"], source
        variables = _function(template, source)["Properties"]["Environment"]["Variables"]
        assert variables["CONNECT_SIGNING_KEY_ID"] == signing_key, source


def test_failure_digest_runs_every_15_minutes(template: dict[str, Any]) -> None:
    function_id = _function_id(template, "failure_digest")
    rules = [
        value["Properties"]
        for value in template["Resources"].values()
        if value["Type"] == "AWS::Events::Rule"
        and any(target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]} for target in value["Properties"]["Targets"])
    ]
    assert [rule["ScheduleExpression"] for rule in rules] == [f"rate({FAILURE_DIGEST_EVERY_MINUTES} minutes)"]
    assert rules[0]["State"] == "ENABLED"


def test_notification_sender_is_an_ses_identity_and_the_digest_sends_only_as_it(template: dict[str, Any]) -> None:
    identity_id = _logical_id(template, "FailureDigestSender", "AWS::SES::EmailIdentity")
    assert template["Resources"][identity_id]["Properties"]["EmailIdentity"] == DEFAULT_NOTIFICATION_SENDER
    variables = _function(template, "failure_digest")["Properties"]["Environment"]["Variables"]
    assert variables["NOTIFICATION_SENDER"] == f"no-reply@{DEFAULT_NOTIFICATION_SENDER}"
    assert variables["PUBLIC_BASE_URL"]
    actions = _role_actions(template, "failure_digest")
    for action in ("ses:SendEmail", "ses:SendRawEmail"):
        (resource,) = actions[action]
        assert resource["Fn::Join"][1][-2:] == [":identity/", {"Ref": identity_id}]
    # Only the digest e-mails anybody.
    for source in ("management_api", "hosted_connect", "voucher_export", "invoice_export", "tenant_probe"):
        assert not any(action.startswith("ses:") for action in _role_actions(template, source)), source


def test_failure_digest_reads_the_table_and_calls_no_fortnox(template: dict[str, Any]) -> None:
    actions = _role_actions(template, "failure_digest")
    table = _logical_id(template, "StateTable", "AWS::DynamoDB::Table")
    assert {"Fn::Join": ["", [{"Fn::GetAtt": [table, "Arn"]}, "/index/GSI1"]]} in actions["dynamodb:Query"]
    assert "secretsmanager:PutSecretValue" not in actions
    assert not any(action.startswith("sqs:") for action in actions)
    client_secret = {"Ref": _logical_id(template, "FortnoxClientSecret", "AWS::SecretsManager::Secret")}
    assert client_secret not in actions["secretsmanager:GetSecretValue"]


def test_notification_sender_context_may_name_one_address(layer_dir: Path, tmp_path: Path) -> None:
    from infra.app import build_app
    from infra.names import STACK_NAME

    app = build_app(
        layer_dir=layer_dir,
        outdir=tmp_path,
        context={"notification_sender": "bokforing@akeri.example.se", "fortnox_client_id": "fortnox-bridge-local"},
    )
    template = app.synth().get_stack_by_name(STACK_NAME).template
    identity_id = _logical_id(template, "FailureDigestSender", "AWS::SES::EmailIdentity")
    assert template["Resources"][identity_id]["Properties"]["EmailIdentity"] == "bokforing@akeri.example.se"
    variables = _function(template, "failure_digest")["Properties"]["Environment"]["Variables"]
    assert variables["NOTIFICATION_SENDER"] == "bokforing@akeri.example.se"


def test_the_local_deploy_verifies_the_notification_sender_so_digests_send(deployed: Any) -> None:
    """moto's SES, like SES, refuses to send from an unverified identity: the local stack verifies the template's."""
    import boto3

    from local_stack.mailbox import SentEmail, sent_emails
    from local_stack.moto_server import REGION

    ses = boto3.client("ses", endpoint_url=deployed.endpoint_url, region_name=REGION)
    assert DEFAULT_NOTIFICATION_SENDER in ses.list_identities(IdentityType="Domain")["Identities"]
    ses.send_email(
        Source=f"no-reply@{DEFAULT_NOTIFICATION_SENDER}",
        Destination={"ToAddresses": ["bokforing@akeri.example.se"]},
        Message={"Subject": {"Data": "2 exporter behöver åtgärdas"}, "Body": {"Text": {"Data": "ok"}}},
    )
    assert sent_emails()[-1] == SentEmail(
        source=f"no-reply@{DEFAULT_NOTIFICATION_SENDER}",
        to=("bokforing@akeri.example.se",),
        subject="2 exporter behöver åtgärdas",
        body="ok",
    )
    with pytest.raises(ses.exceptions.MessageRejected):
        ses.send_email(
            Source="no-reply@someone-else.example.com",
            Destination={"ToAddresses": ["bokforing@akeri.example.se"]},
            Message={"Subject": {"Data": "Export"}, "Body": {"Text": {"Data": "ok"}}},
        )


def test_the_local_runner_knows_which_functions_run_on_a_schedule(deployed: Any) -> None:
    schedules = {spec.source_dir: spec.schedules for spec in deployed.functions}
    assert schedules["functions/failure_digest"] == [f"rate({FAILURE_DIGEST_EVERY_MINUTES} minutes)"]
    assert schedules["functions/connection_keepalive"] == ["rate(1 day)"]
    assert schedules["functions/voucher_export"] == []
    voucher_queue = next(
        source.queue_logical_id
        for spec in deployed.functions
        if spec.source_dir == "functions/voucher_export"
        for source in spec.event_sources
    )
    assert voucher_queue.startswith("VoucherExportWorkQueue")


def test_the_local_runner_ticks_the_digest_with_the_stacks_configuration_on_demand(runner: Any) -> None:
    """The digest starts with the variables and permissions the stack gives it (its settings are checked at import)
    and, with nobody waiting to be told, sends nothing; a function without a schedule is never ticked."""
    assert runner.run_scheduled(runner.function("FailureDigest")) == {"sent": 0}
    with pytest.raises(ValueError, match="no schedule"):
        runner.run_scheduled(runner.function("VoucherExportExporter"))


def test_the_local_api_serves_the_new_routes_with_the_templates_authorisation(gateway: Any, unique: str) -> None:
    """Management routes need the key that stands in for IAM; the status page's routes are public, and the link in
    the path is their only key."""
    import httpx

    tenant = f"infra-{unique}"
    with (
        httpx.Client(base_url=gateway.url, timeout=30) as anyone,
        httpx.Client(base_url=gateway.url, headers={"x-api-key": LOCAL_API_KEY}, timeout=30) as backend,
    ):
        backend.put(f"/tenants/{tenant}", json={"display_name": "Infra <b>AB</b>"}).raise_for_status()
        for method, path in [
            ("GET", f"/tenants/{tenant}/exports"),
            ("POST", f"/tenants/{tenant}/exports/retry-failed"),
            ("POST", f"/tenants/{tenant}/status-links"),
            ("GET", f"/tenants/{tenant}/mapping/check"),
        ]:
            assert anyone.request(method, path, json={}).status_code == 403, path
        assert backend.get(f"/tenants/{tenant}/exports").json()["exports"] == []
        link = backend.post(f"/tenants/{tenant}/status-links", json={"valid_hours": 1})
        assert link.status_code == 201
        url = link.json()["url"]
        assert url.startswith(f"{gateway.url}/status/")
        page = anyone.get(url.removeprefix(gateway.url))
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        tampered = anyone.get(url.removeprefix(gateway.url)[:-2] + "xx")
        assert tampered.status_code != 200
        assert tampered.headers["content-type"].startswith("text/html")


# -- payment sync (issue 11) ---------------------------------------------------------------------------------------
def _secret_prefix(resource: Any) -> str | None:
    """The name pattern of a ``secret:<name>`` ARN the stack builds with ``format_arn``; None for a secret's Ref."""
    if not isinstance(resource, dict) or "Fn::Join" not in resource:
        return None
    text = "".join(part for part in resource["Fn::Join"][1] if isinstance(part, str))
    return text.rsplit(":secret:", 1)[-1]


def _queue(template: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [_logical_id(template, prefix, "AWS::SQS::Queue"), "Arn"]}


def _mapping(template: dict[str, Any], source: str) -> dict[str, Any]:
    function_id = _function_id(template, source)
    mapping: dict[str, Any] = next(
        value["Properties"]
        for value in template["Resources"].values()
        if value["Type"] == "AWS::Lambda::EventSourceMapping"
        and value["Properties"]["FunctionName"] == {"Ref": function_id}
    )
    return mapping


def test_the_payment_schedule_ticks_the_fan_out_with_retries_and_a_dead_letter_queue(template: dict[str, Any]) -> None:
    """A tick EventBridge cannot deliver is retried, then kept where a person can see it, never dropped silently."""
    function_id = _function_id(template, "payment_schedule")
    (rule,) = [
        value["Properties"]
        for value in template["Resources"].values()
        if value["Type"] == "AWS::Events::Rule"
        and any(target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]} for target in value["Properties"]["Targets"])
    ]
    assert rule["ScheduleExpression"] == f"rate({PAYMENT_SCHEDULE_EVERY_MINUTES} minutes)"
    assert rule["State"] == "ENABLED"
    (target,) = rule["Targets"]
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 2
    dead_letters = _queue(template, "PaymentSyncScheduleDeadLetters")
    assert target["DeadLetterConfig"] == {"Arn": dead_letters}
    dead_letter_id = dead_letters["Fn::GetAtt"][0]
    assert template["Resources"][dead_letter_id]["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    # EventBridge may put the failed tick there, and nobody else may.
    (policy,) = [
        value["Properties"]
        for value in template["Resources"].values()
        if value["Type"] == "AWS::SQS::QueuePolicy" and {"Ref": dead_letter_id} in value["Properties"]["Queues"]
    ]
    allowed = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert [s["Principal"] for s in allowed] == [{"Service": "events.amazonaws.com"}]
    assert template["Outputs"]["PaymentScheduleDeadLetterQueueUrl"]["Value"] == {"Ref": dead_letter_id}


def test_the_fan_out_reads_the_schedule_and_connections_and_sends_only_to_the_poll_queue(
    template: dict[str, Any],
) -> None:
    actions = _role_actions(template, "payment_schedule")
    table = {"Fn::GetAtt": [_logical_id(template, "StateTable", "AWS::DynamoDB::Table"), "Arn"]}
    poll_queue = _queue(template, "PaymentSyncPollWorkQueue")
    assert set(actions) == {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:UpdateItem",
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
        "dynamodb:Query",
        "sqs:SendMessage",
    }
    assert actions["dynamodb:BatchGetItem"] == [table]
    assert actions["dynamodb:Query"] == [{"Fn::Join": ["", [table, "/index/GSI1"]]}]
    assert actions["sqs:SendMessage"] == [poll_queue]
    properties = _function(template, "payment_schedule")["Properties"]
    assert properties["Environment"]["Variables"]["PAYMENT_POLL_QUEUE_URL"] == {"Ref": poll_queue["Fn::GetAtt"][0]}
    assert properties["Timeout"] == PAYMENT_FAN_OUT_TIMEOUT_SECONDS


def test_the_poller_drains_the_poll_queue_one_tenant_per_invocation_with_partial_batch_failures(
    template: dict[str, Any],
) -> None:
    poll_queue = _queue(template, "PaymentSyncPollWorkQueue")
    mapping = _mapping(template, "payment_poll")
    assert mapping["EventSourceArn"] == poll_queue
    assert mapping["BatchSize"] == PAYMENT_POLL_BATCH_SIZE
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    poll_queue_id = poll_queue["Fn::GetAtt"][0]
    redrive = template["Resources"][poll_queue_id]["Properties"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == _queue(template, "PaymentSyncPollWorkDeadLetters")
    assert template["Outputs"]["PaymentPollQueueUrl"]["Value"] == {"Ref": poll_queue_id}
    variables = _function(template, "payment_poll")["Properties"]["Environment"]["Variables"]
    assert variables["MAX_RECEIVE_COUNT"] == str(MAX_RECEIVE_COUNT)
    assert variables["WEBHOOK_QUEUE_URL"] == {
        "Ref": _logical_id(template, "PaymentSyncWebhookWorkQueue", "AWS::SQS::Queue")
    }


def test_the_poller_calls_fortnox_publishes_and_hands_webhooks_to_their_queue_only(template: dict[str, Any]) -> None:
    actions = _role_actions(template, "payment_poll")
    assert {"events:PutEvents", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"} <= set(actions)
    assert actions["sqs:SendMessage"] == [_queue(template, "PaymentSyncWebhookWorkQueue")]
    assert actions["sqs:DeleteMessage"] == [_queue(template, "PaymentSyncPollWorkQueue")]
    # Tenant tokens, never webhook secrets: a poll signs nothing.
    prefixes = {_secret_prefix(resource) for resource in actions["secretsmanager:GetSecretValue"]}
    assert prefixes == {None, f"{TENANT_SECRETS}*"}
    assert "dynamodb:BatchGetItem" not in actions


def test_the_webhook_worker_reads_webhook_secrets_only_and_dead_letters_with_its_reason(
    template: dict[str, Any],
) -> None:
    """Its role can read a tenant's webhook signing secret and nothing under the token prefix, nor the app's client
    secret nor the signing key; it puts a delivery out of retries on its own dead-letter queue, which it is told."""
    actions = _role_actions(template, "webhook_delivery")
    assert [_secret_prefix(resource) for resource in actions["secretsmanager:GetSecretValue"]] == [
        f"{WEBHOOK_SECRETS}*"
    ]
    assert TENANT_SECRETS not in json.dumps(actions)
    # The tenant's item (is this still its webhook?), nothing else of the table; no events, no e-mail.
    table = {"Fn::GetAtt": [_logical_id(template, "StateTable", "AWS::DynamoDB::Table"), "Arn"]}
    assert {action: actions[action] for action in actions if action.startswith("dynamodb:")} == {
        "dynamodb:GetItem": [table]
    }
    assert not any(action.startswith(("events:", "ses:")) for action in actions)
    assert "secretsmanager:PutSecretValue" not in actions
    work = _queue(template, "PaymentSyncWebhookWorkQueue")
    dead_letters = _queue(template, "PaymentSyncWebhookWorkDeadLetters")
    # The dead letters, and its own queue to put back a delivery reached too late in an invocation (attack11a).
    assert sorted(map(json.dumps, actions["sqs:SendMessage"])) == sorted(map(json.dumps, [dead_letters, work]))
    mapping = _mapping(template, "webhook_delivery")
    assert mapping["EventSourceArn"] == work
    assert mapping["BatchSize"] == WEBHOOK_DELIVERY_BATCH_SIZE
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    variables = _function(template, "webhook_delivery")["Properties"]["Environment"]["Variables"]
    assert variables["WEBHOOK_DEAD_LETTER_URL"] == {"Ref": dead_letters["Fn::GetAtt"][0]}
    assert variables["MAX_RECEIVE_COUNT"] == str(MAX_RECEIVE_COUNT)
    redrive = template["Resources"][work["Fn::GetAtt"][0]]["Properties"]["RedrivePolicy"]
    assert redrive == {"deadLetterTargetArn": dead_letters, "maxReceiveCount": MAX_RECEIVE_COUNT}
    assert template["Outputs"]["WebhookDeadLetterQueueUrl"]["Value"] == {"Ref": dead_letters["Fn::GetAtt"][0]}


def test_the_management_api_creates_and_rotates_webhook_secrets_but_never_reads_them(template: dict[str, Any]) -> None:
    """A new webhook secret is shown once, when it is made; afterwards only the webhook worker can read it."""
    actions = _role_actions(template, "management_api")
    for action in ("secretsmanager:CreateSecret", "secretsmanager:PutSecretValue", "secretsmanager:DescribeSecret"):
        assert f"{WEBHOOK_SECRETS}*" in {_secret_prefix(resource) for resource in actions[action]}, action
    assert f"{WEBHOOK_SECRETS}*" not in {
        _secret_prefix(resource) for resource in actions["secretsmanager:GetSecretValue"]
    }
    for source in ("payment_poll", "payment_schedule", "hosted_connect", "invoice_export", "tenant_probe"):
        assert WEBHOOK_SECRETS not in json.dumps(_role_actions(template, source)), source


def test_no_deployed_function_may_send_webhooks_to_loopback(template: dict[str, Any]) -> None:
    """Loopback webhook destinations are the local stack's alone: the runner sets the switch, the template never."""
    assert "WEBHOOK_ALLOW_LOOPBACK" not in json.dumps(template)


def test_the_local_runner_ticks_the_payment_schedule_and_lets_the_webhook_worker_reach_loopback(runner: Any) -> None:
    fan_out = runner.function("PaymentSyncFanOut")
    assert fan_out.schedules == [f"rate({PAYMENT_SCHEDULE_EVERY_MINUTES} minutes)"]
    assert [
        source.queue_logical_id[: len("PaymentSyncPollWorkQueue")]
        for source in runner.function("PaymentSyncPoller").event_sources
    ] == ["PaymentSyncPollWorkQueue"]
    assert runner.environment(runner.function("PaymentSyncWebhookDeliverer"))["WEBHOOK_ALLOW_LOOPBACK"] == "true"
