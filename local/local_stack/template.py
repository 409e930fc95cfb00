"""Read the synthesized CloudFormation template: what to deploy locally and how each function is wired."""

from dataclasses import dataclass, field
from typing import Any

from infra.names import SOURCE_METADATA_KEY

# What moto's CloudFormation deploys for us. Functions, roles, log groups and layers are not deployed: the local
# runner calls the handlers in this process instead (docs/decisions.md, "the local stack").
DEPLOYED_TYPES = frozenset({"AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::Events::EventBus", "AWS::S3::Bucket"})
SECRET_TYPE = "AWS::SecretsManager::Secret"  # noqa: S105 - a resource type, not a secret
"""moto's CloudFormation cannot create secrets, so the local stack creates them through the API instead."""


EMAIL_IDENTITY_TYPE = "AWS::SES::EmailIdentity"
"""Nor SES identities: the local stack verifies them through the API, as a person does with DNS or a mailbox."""


KMS_KEY_TYPE = "AWS::KMS::Key"
"""Nor KMS keys (their key policies name the account's root): the local stack creates them through the API too."""


def secrets(template: dict[str, Any]) -> list[str]:
    return [logical_id for logical_id, resource in template["Resources"].items() if resource["Type"] == SECRET_TYPE]


def kms_keys(template: dict[str, Any]) -> dict[str, str]:
    """Each KMS key's logical id and its description."""
    return {
        logical_id: str(resource["Properties"].get("Description", logical_id))
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == KMS_KEY_TYPE
    }


def email_identities(template: dict[str, Any]) -> dict[str, str]:
    """Each SES identity's logical id and the address or domain it is."""
    return {
        logical_id: str(resource["Properties"]["EmailIdentity"])
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == EMAIL_IDENTITY_TYPE
    }


@dataclass(frozen=True)
class EventSource:
    queue_logical_id: str
    batch_size: int
    reports_item_failures: bool


@dataclass
class FunctionSpec:
    logical_id: str
    source_dir: str
    handler: str
    timeout_seconds: int
    environment: dict[str, Any]
    event_sources: list[EventSource] = field(default_factory=list)
    schedules: list[str] = field(default_factory=list)
    """The schedule expressions of the EventBridge rules that invoke the function."""


def local_template(template: dict[str, Any]) -> dict[str, Any]:
    """The part of the template moto can deploy, with the same properties (redrive policies included)."""
    resources = {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] in DEPLOYED_TYPES
    }
    return {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}


def functions(template: dict[str, Any]) -> list[FunctionSpec]:
    resources: dict[str, Any] = template["Resources"]
    specs: dict[str, FunctionSpec] = {}
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        source = resource.get("Metadata", {}).get(SOURCE_METADATA_KEY)
        if source is None:
            continue
        properties = resource["Properties"]
        specs[logical_id] = FunctionSpec(
            logical_id=logical_id,
            source_dir=source,
            handler=properties["Handler"],
            timeout_seconds=int(properties.get("Timeout", 3)),
            environment=properties.get("Environment", {}).get("Variables", {}),
        )
    for resource in resources.values():
        if resource["Type"] != "AWS::Lambda::EventSourceMapping":
            continue
        properties = resource["Properties"]
        function_id = properties["FunctionName"]["Ref"]
        queue_id = properties["EventSourceArn"]["Fn::GetAtt"][0]
        specs[function_id].event_sources.append(
            EventSource(
                queue_logical_id=queue_id,
                batch_size=int(properties.get("BatchSize", 10)),
                reports_item_failures="ReportBatchItemFailures" in properties.get("FunctionResponseTypes", []),
            )
        )
    for resource in resources.values():
        if resource["Type"] != "AWS::Events::Rule" or "ScheduleExpression" not in resource["Properties"]:
            continue
        for target in resource["Properties"].get("Targets", []):
            arn = target["Arn"]
            if isinstance(arn, dict) and "Fn::GetAtt" in arn and arn["Fn::GetAtt"][0] in specs:
                specs[arn["Fn::GetAtt"][0]].schedules.append(resource["Properties"]["ScheduleExpression"])
    return list(specs.values())
