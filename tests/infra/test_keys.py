"""Secrets and keys (issue 12): names scoped to the stack, the narrowest grant per role, customer-managed KMS keys.

Most of it reads the synthesized template; the stages test also connects a tenant through the real hosted flow and
reads its tokens back under two roots.
"""

import json
from typing import Any

import boto3
import httpx
import pytest

from fortnox_bridge import wiring
from fortnox_bridge.ids import TenantId
from fortnox_bridge.settings import tenant_secret_prefix, webhook_secret_prefix
from fortnox_bridge.status.links import LONGEST
from fortnox_bridge.tokens.secret_store import SecretTokenStore
from infra.names import STACK_NAME, stack_name
from local_stack.connect_walk import walk
from local_stack.moto_server import REGION
from tests.conftest import LOCAL_API_KEY, Scene

ROOT = f"fortnox-bridge/{STACK_NAME}"
TENANTS = f"{tenant_secret_prefix(ROOT)}*"
WEBHOOKS = f"{webhook_secret_prefix(ROOT)}*"
SECRETS_MANAGER_ENDPOINT = {"Fn::Join": ["", ["secretsmanager.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}
VIA_SECRETS_MANAGER = {"StringEquals": {"kms:ViaService": SECRETS_MANAGER_ENDPOINT}}
NAMED = ("FortnoxClientSecret", "ConnectSigningKey", "KeysTenantSecretsKey", "KeysClientSecretKey", "KeysSigningKeyKey")
"""The stack's secrets and KMS keys, by the prefix of their logical ids."""
FORTNOX_CALLERS = ["connection_keepalive", "tenant_probe", "invoice_export", "voucher_export", "payment_poll"]


def _function_id(template: dict[str, Any], source: str) -> str:
    return next(
        str(key)
        for key, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
        and resource.get("Metadata", {}).get("FortnoxBridge:Source") == f"functions/{source}"
    )


def _sources(template: dict[str, Any]) -> list[str]:
    return sorted(
        resource["Metadata"]["FortnoxBridge:Source"].removeprefix("functions/")
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function" and "FortnoxBridge:Source" in resource.get("Metadata", {})
    )


def _variables(template: dict[str, Any], source: str) -> dict[str, Any]:
    variables: dict[str, Any] = template["Resources"][_function_id(template, source)]["Properties"]["Environment"][
        "Variables"
    ]
    return variables


def _name(template: dict[str, Any], resource: Any) -> str:
    """A readable name for a grant's resource: a secret or KMS key by its logical id's prefix, a name pattern by it."""
    if isinstance(resource, dict) and "Ref" in resource:
        return _logical_prefix(template, resource["Ref"])
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        return _logical_prefix(template, resource["Fn::GetAtt"][0])
    if isinstance(resource, dict) and "Fn::Join" in resource:
        text = "".join(part for part in resource["Fn::Join"][1] if isinstance(part, str))
        return text.rsplit(":secret:", 1)[-1]
    return str(resource)


def _logical_prefix(template: dict[str, Any], logical_id: str) -> str:
    prefixes = (
        "FortnoxClientSecret",
        "ConnectSigningKey",
        "KeysTenantSecretsKey",
        "KeysClientSecretKey",
        "KeysSigningKeyKey",
    )
    return next((prefix for prefix in prefixes if logical_id.startswith(prefix)), logical_id)


def _grants(template: dict[str, Any], source: str) -> dict[str, set[str]]:
    """Each Secrets Manager and KMS action of the function's role and what it may take it on."""
    role = template["Resources"][_function_id(template, source)]["Properties"]["Role"]["Fn::GetAtt"][0]
    granted: dict[str, set[str]] = {}
    for statement in _statements(template, role):
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for action in _actions(statement):
            if action.startswith(("secretsmanager:", "kms:")):
                granted.setdefault(action, set()).update(_name(template, resource) for resource in resources)
    return granted


def _statements(template: dict[str, Any], role: str | None = None) -> list[dict[str, Any]]:
    return [
        statement
        for value in template["Resources"].values()
        if value["Type"] == "AWS::IAM::Policy" and (role is None or {"Ref": role} in value["Properties"]["Roles"])
        for statement in value["Properties"]["PolicyDocument"]["Statement"]
    ]


def _actions(statement: dict[str, Any]) -> list[str]:
    return statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]


# -- secret names scoped to the stack ---------------------------------------------------------------------------------
def test_every_function_names_secrets_under_its_own_stack(template: dict[str, Any]) -> None:
    for source in _sources(template):
        assert _variables(template, source)["SECRET_NAME_ROOT"] == ROOT, source


def test_two_stages_in_one_account_share_no_secret_name_and_no_grant(
    template: dict[str, Any], prod_template: dict[str, Any]
) -> None:
    prod_root = f"fortnox-bridge/{stack_name('prod')}"
    assert {_variables(prod_template, source)["SECRET_NAME_ROOT"] for source in _sources(prod_template)} == {prod_root}
    dev_patterns = _secret_patterns(template)
    prod_patterns = _secret_patterns(prod_template)
    assert dev_patterns == {TENANTS, WEBHOOKS}
    assert prod_patterns == {f"{tenant_secret_prefix(prod_root)}*", f"{webhook_secret_prefix(prod_root)}*"}
    # Neither pattern matches a name under the other root: "fortnox-bridge/FortnoxBridge-dev/..." is never a
    # "fortnox-bridge/FortnoxBridge-prod/..." name, and no grant is left on the unscoped "fortnox-bridge/tenants/".
    for dev, prod in ((dev, prod) for dev in dev_patterns for prod in prod_patterns):
        assert not dev.removesuffix("*").startswith(prod.removesuffix("*"))
        assert not prod.removesuffix("*").startswith(dev.removesuffix("*"))
    assert "fortnox-bridge/tenants/" not in json.dumps(template) + json.dumps(prod_template)
    assert "fortnox-bridge/webhooks/" not in json.dumps(template) + json.dumps(prod_template)


def _secret_patterns(template: dict[str, Any]) -> set[str]:
    return {
        _name(template, resource)
        for statement in _statements(template)
        for resource in (statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]])
        if "*" in _name(template, resource) and ":secret:" in json.dumps(resource)
    }


def test_a_tenant_connected_under_one_root_is_not_readable_under_another(
    gateway: Any, scene: Scene, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the real hosted flow: the tokens land under the stack's root, and a function of another stage (its
    own root) reads nothing for the same tenant id."""
    management = httpx.Client(base_url=gateway.url, headers={"x-api-key": LOCAL_API_KEY}, timeout=30)
    assert management.put(f"/tenants/{unique}", json={"display_name": "Scen AB"}).status_code in (200, 201)
    link = management.post(f"/tenants/{unique}/connect-links", json={}).json()["url"]
    assert walk(link, scene.new_company("Scen AB")).status == 200
    tenant = TenantId(unique)
    assert wiring.secrets_store().read(tenant) is not None
    client = boto3.client("secretsmanager", region_name=REGION)
    assert SecretTokenStore(client, tenant_secret_prefix(ROOT)).read(tenant) is not None
    monkeypatch.setenv("SECRET_NAME_ROOT", f"fortnox-bridge/{stack_name('prod')}")
    wiring.reset()
    assert wiring.secrets_store().read(tenant) is None
    assert wiring.secrets_store().secret_id(tenant) == f"fortnox-bridge/{stack_name('prod')}/tenants/{unique}"


# -- the narrowest grant per role -------------------------------------------------------------------------------------
def test_the_management_api_ends_connections_refreshes_and_writes_webhook_secrets(template: dict[str, Any]) -> None:
    assert _grants(template, "management_api") == {
        # The client secret revokes a refresh token; the signing key signs status links; tenant tokens are read to
        # revoke and refreshed by the mapping check.
        "secretsmanager:GetSecretValue": {"FortnoxClientSecret", "ConnectSigningKey", TENANTS},
        "secretsmanager:PutSecretValue": {TENANTS, WEBHOOKS},
        "secretsmanager:DeleteSecret": {TENANTS},
        "secretsmanager:CreateSecret": {WEBHOOKS},
        "secretsmanager:DescribeSecret": {WEBHOOKS},
        "kms:Decrypt": {"KeysClientSecretKey", "KeysSigningKeyKey", "KeysTenantSecretsKey"},
        "kms:GenerateDataKey": {"KeysTenantSecretsKey"},
    }


def test_the_public_hosted_function_creates_and_deletes_token_secrets_only_as_the_callback_does(
    template: dict[str, Any],
) -> None:
    assert _grants(template, "hosted_connect") == {
        "secretsmanager:GetSecretValue": {"FortnoxClientSecret", "ConnectSigningKey", TENANTS},
        "secretsmanager:PutSecretValue": {TENANTS},
        "secretsmanager:CreateSecret": {TENANTS},
        "secretsmanager:DeleteSecret": {TENANTS},
        "kms:Decrypt": {"KeysClientSecretKey", "KeysSigningKeyKey", "KeysTenantSecretsKey"},
        "kms:GenerateDataKey": {"KeysTenantSecretsKey"},
    }


@pytest.mark.parametrize("source", FORTNOX_CALLERS)
def test_a_fortnox_worker_reads_the_client_secret_and_refreshes_tokens_and_nothing_else(
    template: dict[str, Any], source: str
) -> None:
    assert _grants(template, source) == {
        "secretsmanager:GetSecretValue": {"FortnoxClientSecret", TENANTS},
        "secretsmanager:PutSecretValue": {TENANTS},
        "kms:Decrypt": {"KeysClientSecretKey", "KeysTenantSecretsKey"},
        "kms:GenerateDataKey": {"KeysTenantSecretsKey"},
    }


def test_functions_that_call_no_fortnox_never_read_the_client_secret(template: dict[str, Any]) -> None:
    assert _grants(template, "failure_digest") == {
        "secretsmanager:GetSecretValue": {"ConnectSigningKey"},
        "kms:Decrypt": {"KeysSigningKeyKey"},
    }
    assert _grants(template, "payment_schedule") == {}
    assert _grants(template, "webhook_delivery") == {
        "secretsmanager:GetSecretValue": {WEBHOOKS},
        "kms:Decrypt": {"KeysTenantSecretsKey"},
    }
    assert _grants(template, "signing_key_rotation") == {
        action: {"ConnectSigningKey"}
        for action in (
            "secretsmanager:DescribeSecret",
            "secretsmanager:GetSecretValue",
            "secretsmanager:PutSecretValue",
            "secretsmanager:UpdateSecretVersionStage",
        )
    } | {"kms:Decrypt": {"KeysSigningKeyKey"}, "kms:GenerateDataKey": {"KeysSigningKeyKey"}}
    readers = {source for source in _sources(template) if "FortnoxClientSecret" in str(_grants(template, source))}
    assert readers == {"management_api", "hosted_connect", *FORTNOX_CALLERS}


# -- KMS ---------------------------------------------------------------------------------------------------------------
def test_kms_is_used_only_through_secrets_manager_and_never_to_encrypt_directly(template: dict[str, Any]) -> None:
    kms = [statement for statement in _statements(template) if any(a.startswith("kms:") for a in _actions(statement))]
    assert kms
    for statement in kms:
        assert set(_actions(statement)) <= {"kms:Decrypt", "kms:GenerateDataKey"}, statement
        assert statement["Condition"] == VIA_SECRETS_MANAGER, statement
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert all("Fn::GetAtt" in resource for resource in resources), statement


def test_secrets_created_at_run_time_must_use_the_tenant_secrets_key(template: dict[str, Any]) -> None:
    tenant_key = {"Fn::GetAtt": [_logical_id(template, "KeysTenantSecretsKey"), "Arn"]}
    creating = [s for s in _statements(template) if "secretsmanager:CreateSecret" in _actions(s)]
    assert len(creating) == 2
    for statement in creating:
        assert statement["Condition"] == {"StringEquals": {"secretsmanager:KmsKeyId": tenant_key}}
    for source in _sources(template):
        expected = tenant_key if source in ("management_api", "hosted_connect") else None
        assert _variables(template, source).get("TENANT_SECRETS_KEY_ID") == expected, source


def _logical_id(template: dict[str, Any], prefix: str) -> str:
    return next(str(key) for key in template["Resources"] if key.startswith(prefix))


def test_each_secret_of_the_stack_has_its_own_rotating_retained_key(template: dict[str, Any]) -> None:
    keys = {
        prefix: _logical_id(template, prefix)
        for prefix in ("KeysTenantSecretsKey", "KeysClientSecretKey", "KeysSigningKeyKey")
    }
    for logical_id in keys.values():
        resource = template["Resources"][logical_id]
        assert resource["Properties"]["EnableKeyRotation"] is True
        assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"
    secrets = template["Resources"]
    assert secrets[_logical_id(template, "FortnoxClientSecret")]["Properties"]["KmsKeyId"] == {
        "Fn::GetAtt": [keys["KeysClientSecretKey"], "Arn"]
    }
    assert secrets[_logical_id(template, "ConnectSigningKey")]["Properties"]["KmsKeyId"] == {
        "Fn::GetAtt": [keys["KeysSigningKeyKey"], "Arn"]
    }


# -- the signing key rotates -------------------------------------------------------------------------------------------
def test_the_signing_key_rotates_as_often_as_the_longest_status_link_lives(template: dict[str, Any]) -> None:
    resources = template["Resources"].values()
    schedules = [value for value in resources if value["Type"] == "AWS::SecretsManager::RotationSchedule"]
    assert len(schedules) == 1
    properties = schedules[0]["Properties"]
    assert properties["SecretId"] == {"Ref": _logical_id(template, "ConnectSigningKey")}
    # A day more than the longest link: Secrets Manager may rotate at any time of the due day.
    assert properties["RotationRules"] == {"ScheduleExpression": f"rate({LONGEST.days + 1} days)"}
    assert properties["RotationLambdaARN"] == {"Fn::GetAtt": [_function_id(template, "signing_key_rotation"), "Arn"]}
    permission = next(
        value["Properties"]
        for value in template["Resources"].values()
        if value["Type"] == "AWS::Lambda::Permission"
        and value["Properties"]["Principal"] == "secretsmanager.amazonaws.com"
    )
    assert permission["FunctionName"] == properties["RotationLambdaARN"]
