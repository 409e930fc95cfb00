"""Deploy the template's data resources into moto through CloudFormation and resolve what functions need."""

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from infra.names import ROOT, STACK_NAME
from local_stack.moto_server import ACCOUNT_ID, REGION
from local_stack.template import FunctionSpec, email_identities, functions, kms_keys, local_template, secrets

TEMPLATE_PATH = ROOT / "cdk.out" / f"{STACK_NAME}.template.json"


@dataclass
class DeployedStack:
    endpoint_url: str
    physical_ids: dict[str, str]
    functions: list[FunctionSpec]

    def resolve(self, value: Any) -> str:
        """The few intrinsic functions our function environments use: Ref and Fn::GetAtt Arn."""
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and "Ref" in value:
            return self.physical_ids[value["Ref"]]
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            logical_id, attribute = value["Fn::GetAtt"]
            return self.arn(logical_id) if attribute == "Arn" else self.physical_ids[logical_id]
        raise ValueError(f"cannot resolve {value!r} locally")

    def arn(self, logical_id: str) -> str:
        physical = self.physical_ids[logical_id]
        if physical.startswith("arn:"):
            return physical
        if physical.startswith("http"):
            return f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{physical.rsplit('/', 1)[-1]}"
        return physical

    def environment(self, spec: FunctionSpec, *, overridden: frozenset[str] = frozenset()) -> dict[str, str]:
        """The function's variables as deployed; ``overridden`` ones (the API's URL, say) are not resolved."""
        return {name: self.resolve(value) for name, value in spec.environment.items() if name not in overridden}

    def queue_url(self, logical_id: str) -> str:
        return self.physical_ids[logical_id]


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def deploy(template: dict[str, Any], endpoint_url: str, *, stack_name: str = STACK_NAME) -> DeployedStack:
    cloudformation = boto3.client("cloudformation", endpoint_url=endpoint_url, region_name=REGION)
    cloudformation.create_stack(StackName=stack_name, TemplateBody=json.dumps(local_template(template)))
    for _ in range(100):
        status = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]["StackStatus"]
        if status.endswith("_COMPLETE") or status.endswith("_FAILED"):
            break
        time.sleep(0.1)
    if status != "CREATE_COMPLETE":
        raise RuntimeError(f"local stack {stack_name} ended in {status}")
    resources = cloudformation.describe_stack_resources(StackName=stack_name)["StackResources"]
    # moto leaves some physical ids out (event buses); a named resource's name is its physical id.
    physical_ids = {
        row["LogicalResourceId"]: row.get("PhysicalResourceId")
        or template["Resources"][row["LogicalResourceId"]]["Properties"]["Name"]
        for row in resources
    }
    kms = boto3.client("kms", endpoint_url=endpoint_url, region_name=REGION)
    for logical_id, description in kms_keys(template).items():
        physical_ids[logical_id] = kms.create_key(Description=description)["KeyMetadata"]["Arn"]
    secrets_manager = boto3.client("secretsmanager", endpoint_url=endpoint_url, region_name=REGION)
    for logical_id in secrets(template):
        # Encrypted with the key the template names, as CloudFormation would: the functions' roles are not deployed,
        # but what a secret is encrypted with is seen (describe_secret) and must be the stack's.
        name = f"{stack_name}-{logical_id}"
        key = template["Resources"][logical_id]["Properties"].get("KmsKeyId")
        created = (
            secrets_manager.create_secret(Name=name, SecretString="unset", KmsKeyId=physical_ids[key["Fn::GetAtt"][0]])
            if key
            else secrets_manager.create_secret(Name=name, SecretString="unset")
        )
        physical_ids[logical_id] = created["ARN"]
    ses = boto3.client("ses", endpoint_url=endpoint_url, region_name=REGION)
    for logical_id, identity in email_identities(template).items():
        # Verified at once: in AWS a person proves the domain (DNS) or the address (a link mailed to it).
        if "@" in identity:
            ses.verify_email_identity(EmailAddress=identity)
        else:
            ses.verify_domain_identity(Domain=identity)
        physical_ids[logical_id] = identity
    return DeployedStack(endpoint_url=endpoint_url, physical_ids=physical_ids, functions=functions(template))
