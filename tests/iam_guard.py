"""Every AWS call a function makes under the local runner is one its role in the template grants.

moto grants every call, so a handler that needs an action its role lacks passes every test and is refused in AWS
(the payment schedule's pause needed ``dynamodb:ConditionCheckItem``: docs/decisions.md). The recorder listens on
boto3's default session, where the bridge builds every client (``fortnox_bridge.aws``; Powertools is handed those
clients), and keeps the calls made while the runner invokes a function (``local_stack.runner.current_invocation``,
which the invoice export's lanes inherit); ``refusals`` then reads each role's policies from the template, as IAM
would, with the actions and resources the calls need.
"""

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from email.utils import parseaddr
from functools import cache
from typing import Any
from urllib.parse import urlparse

import boto3
from botocore.model import OperationModel

from local_stack.deploy import DeployedStack
from local_stack.moto_server import ACCOUNT_ID, REGION
from local_stack.runner import current_invocation

_TRANSACTION_ITEMS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}
"""A transaction is authorised item by item, each as the single-item action of its kind."""

_BATCH_ACTIONS = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    "s3:HeadObject": "s3:GetObject",
    "s3:ListObjectsV2": "s3:ListBucket",
}
"""Operations IAM authorises under another action's name."""

_DIRECT_CALL = "direct"
"""What ``kms:ViaService`` is for a call the code makes itself: never a service acting on its behalf."""


@dataclass(frozen=True)
class Call:
    """One action a function needed, on one of ``resources`` (none: an operation whose resource the guard does not
    work out, checked by action alone), with the values of the condition keys the template's statements test."""

    stack: int
    function: str
    action: str
    resources: tuple[str, ...]
    conditions: frozenset[tuple[str, str]] = frozenset()


@dataclass(frozen=True)
class Refusal:
    function: str
    action: str
    resources: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.function}: {self.action} on {' or '.join(self.resources) or 'any resource'}"


def default_session() -> boto3.session.Session:
    """boto3's default session, which ``boto3.client`` builds every client from (made now if none is yet)."""
    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    return boto3.DEFAULT_SESSION


class Recorder:
    """The calls of the session's invocations, each kind once, and the stacks they can be checked against."""

    def __init__(self) -> None:
        self.calls: set[Call] = set()
        self._stacks: dict[int, tuple[DeployedStack, dict[str, Any]]] = {}

    def watch(self, stack: DeployedStack, template: Mapping[str, Any]) -> None:
        """Calls made in ``stack`` are checked against ``template``; calls in stacks nobody registers are not."""
        self._stacks[id(stack)] = (stack, dict(template))

    def install(self, session: boto3.session.Session) -> None:
        """Listen to every client ``session`` builds from now on (a client copies its session's hooks when built)."""
        session.events.register("provide-client-params", self._record)

    def uninstall(self, session: boto3.session.Session) -> None:
        session.events.unregister("provide-client-params", self._record)

    def _record(self, params: Mapping[str, Any], model: OperationModel, **_: Any) -> None:
        invocation = current_invocation.get()
        if invocation is None:
            return
        stack = invocation.stack
        for action, resources, conditions in needs(model, params, _secret_arns(stack)):
            self.calls.add(Call(id(stack), invocation.function.logical_id, action, resources, conditions))

    def refusals(self) -> list[Refusal]:
        found = {
            refusal
            for stack, template in self._stacks.values()
            for refusal in refusals(template, stack, (call for call in self.calls if call.stack == id(stack)))
        }
        return sorted(found, key=str)


Need = tuple[str, tuple[str, ...], frozenset[tuple[str, str]]]
"""An action, the resources of which it needs one (none: any), the condition keys' values."""


def needs(model: OperationModel, params: Mapping[str, Any], secret_arns: Mapping[str, str]) -> Iterator[Need]:
    """The actions an operation needs, each on its resource, as IAM asks for them."""
    service = model.service_model.signing_name
    action = _BATCH_ACTIONS.get(f"{service}:{model.name}", f"{service}:{model.name}")
    if service == "dynamodb":
        yield from ((item_action, (table,), frozenset()) for item_action, table in _dynamodb(model.name, params))
    elif service == "sqs":
        queue = _queue_arn(params)
        yield action, (queue,) if queue else (), frozenset()
    elif service == "secretsmanager":
        conditions = {("secretsmanager:KmsKeyId", params["KmsKeyId"])} if "KmsKeyId" in params else set()
        secret = params.get("SecretId") or params.get("Name")
        yield action, (_secret_arn(str(secret), secret_arns),) if secret else (), frozenset(conditions)
    elif service == "events" and model.name == "PutEvents":
        for bus in {entry.get("EventBusName", "default") for entry in params.get("Entries", [])}:
            yield action, (_bus_arn(bus),), frozenset()
    elif service == "s3" and "Bucket" in params:
        key = f"/{params['Key']}" if "Key" in params else ""
        yield action, (f"arn:aws:s3:::{params['Bucket']}{key}",), frozenset()
    elif service == "ses" and "Source" in params:
        address = parseaddr(params["Source"])[1]
        # SES asks IAM about the address's own identity or its domain's, whichever is the verified one.
        identities = (address, address.rpartition("@")[2])
        yield (
            action,
            tuple(f"arn:aws:ses:{REGION}:{ACCOUNT_ID}:identity/{identity}" for identity in identities),
            frozenset(),
        )
    else:
        yield action, (), frozenset()


def _dynamodb(operation: str, params: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """Each action on its table, or its index; an operation of no table (ListTables) is not one the bridge makes."""
    if operation in {"TransactWriteItems", "TransactGetItems"}:
        for item in params.get("TransactItems", []):
            for kind, request in item.items():
                yield f"dynamodb:{_TRANSACTION_ITEMS.get(kind, kind)}", _table_arn(str(request.get("TableName")))
    elif operation in {"BatchGetItem", "BatchWriteItem"}:
        for table in params.get("RequestItems", {}):
            yield f"dynamodb:{operation}", _table_arn(table)
    elif "IndexName" in params:
        yield f"dynamodb:{operation}", f"{_table_arn(str(params.get('TableName')))}/index/{params['IndexName']}"
    else:
        yield f"dynamodb:{operation}", _table_arn(str(params.get("TableName")))


def _table_arn(table: str) -> str:
    return table if table.startswith("arn:") else f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{table}"


def _queue_arn(params: Mapping[str, Any]) -> str | None:
    if "QueueUrl" in params:
        # SQS's URLs are <endpoint>/<account>/<name>, moto's as AWS's.
        account, _, name = urlparse(str(params["QueueUrl"])).path.strip("/").rpartition("/")
        return f"arn:aws:sqs:{REGION}:{account or ACCOUNT_ID}:{name}"
    if "QueueName" in params:
        return f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{params['QueueName']}"
    return None


def _bus_arn(bus: str) -> str:
    return bus if bus.startswith("arn:") else f"arn:aws:events:{REGION}:{ACCOUNT_ID}:event-bus/{bus}"


def _secret_arn(secret: str, known: Mapping[str, str]) -> str:
    """A secret's ARN ends in six characters Secrets Manager picks; a name the stack did not create (a tenant's
    tokens) is given six of its own."""
    if secret.startswith("arn:"):
        return secret
    return known.get(secret, f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:{secret}-AbCdEf")


_SECRET_NAME = re.compile(r":secret:(?P<name>.+)-[A-Za-z0-9]{6}$")


def _secret_arns(stack: DeployedStack) -> dict[str, str]:
    """The stack's own secrets by name, as a call that names one asks for it."""
    return {
        match["name"]: arn
        for arn in stack.physical_ids.values()
        if isinstance(arn, str) and (match := _SECRET_NAME.search(arn))
    }


# -- reading the template's policies -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Statement:
    allow: bool
    actions: tuple[str, ...]
    resources: tuple[str | None, ...]
    """Resolved ARNs or patterns; ``None`` for one the guard cannot resolve locally (it matches no call)."""
    conditions: Mapping[str, Any]


def refusals(template: Mapping[str, Any], stack: DeployedStack, calls: Iterable[Call]) -> list[Refusal]:
    """The calls no statement of their function's role allows, or one denies."""
    statements = {spec.logical_id: role_statements(template, stack, spec.logical_id) for spec in stack.functions}
    deployed = _Resolver(template["Resources"], stack).deployed_arns()
    refused = {
        Refusal(call.function, call.action, call.resources)
        for call in calls
        if call.function in statements
        and not _elsewhere(call, deployed)
        and not allowed(statements[call.function], call)
    }
    return sorted(refused, key=str)


_DEPLOYED_KINDS = ("arn:aws:dynamodb:", "arn:aws:sqs:", "arn:aws:events:", "arn:aws:s3:")


def _elsewhere(call: Call, deployed: frozenset[str]) -> bool:
    """A call on a table, queue, bus or bucket the stack does not have: a test pointed the function elsewhere (a
    queue URL overridden to one that is gone) and moto answered it as AWS would, not found; no template's concern."""
    return bool(call.resources) and all(
        resource.startswith(_DEPLOYED_KINDS)
        and not any(resource == arn or resource.startswith(f"{arn}/") for arn in deployed)
        for resource in call.resources
    )


def allowed(statements: Iterable[Statement], call: Call) -> bool:
    """Some statement allows the action on one of the call's resources and none denies it there."""
    statements = list(statements)
    for resource in call.resources or (None,):
        applying = [statement for statement in statements if _applies(statement, call, resource)]
        if any(statement.allow for statement in applying) and all(statement.allow for statement in applying):
            return True
    return False


def _applies(statement: Statement, call: Call, resource: str | None) -> bool:
    if not any(_matches(action, call.action, case_sensitive=False) for action in statement.actions):
        return False
    if resource is not None and not any(
        pattern is not None and _matches(pattern, resource, case_sensitive=True) for pattern in statement.resources
    ):
        return False
    return _conditions_hold(statement.conditions, dict(call.conditions))


def _conditions_hold(conditions: Mapping[str, Any], values: Mapping[str, str]) -> bool:
    """``StringEquals`` on the keys the stack uses; a statement with any other condition applies to no call, so a
    new kind of condition shows as a refusal to look at rather than a grant taken on trust."""
    for operator, tests in conditions.items():
        if operator != "StringEquals":
            return False
        for key, expected in tests.items():
            wanted = expected if isinstance(expected, list) else [expected]
            value = _DIRECT_CALL if key == "kms:ViaService" else values.get(key)
            if value not in wanted:
                return False
    return True


@cache
def _pattern(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    wildcards = ".*".join(".".join(re.escape(part) for part in piece.split("?")) for piece in pattern.split("*"))
    return re.compile(f"^{wildcards}$", 0 if case_sensitive else re.IGNORECASE)


def _matches(pattern: str, value: str, *, case_sensitive: bool) -> bool:
    return _pattern(pattern, case_sensitive).match(value) is not None


def role_statements(template: Mapping[str, Any], stack: DeployedStack, function: str) -> list[Statement]:
    """Every statement of the function's role: its inline policies and the policies that name it."""
    resources: Mapping[str, Any] = template["Resources"]
    role = resources[function]["Properties"]["Role"]["Fn::GetAtt"][0]
    documents = [policy["PolicyDocument"] for policy in resources[role]["Properties"].get("Policies", [])]
    documents += [
        value["Properties"]["PolicyDocument"]
        for value in resources.values()
        if value["Type"] in {"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"}
        and {"Ref": role} in value["Properties"].get("Roles", [])
    ]
    resolve = _Resolver(resources, stack)
    statements = []
    for document in documents:
        for statement in document["Statement"]:
            if "NotAction" in statement or "NotResource" in statement:
                raise ValueError(f"{function}'s role has a NotAction or NotResource statement the guard cannot read")
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            listed = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            statements.append(
                Statement(
                    allow=statement["Effect"] == "Allow",
                    actions=tuple(actions),
                    resources=tuple(resolve(value) for value in listed),
                    conditions={
                        operator: {key: resolve.all(expected) for key, expected in tests.items()}
                        for operator, tests in statement.get("Condition", {}).items()
                    },
                )
            )
    return statements


class _Resolver:
    """The template's references as the local stack's ARNs (moto's account and region)."""

    _PSEUDO = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT_ID}

    def __init__(self, resources: Mapping[str, Any], stack: DeployedStack) -> None:
        self._resources = resources
        self._stack = stack

    def deployed_arns(self) -> frozenset[str]:
        """The tables, queues, buses and buckets of the stack."""
        arns = (self._arn(logical_id) for logical_id in self._resources if logical_id in self._stack.physical_ids)
        return frozenset(arn for arn in arns if arn is not None and arn.startswith(_DEPLOYED_KINDS))

    def all(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self(item) for item in value]
        return self(value)

    def __call__(self, value: Any) -> str | None:
        if isinstance(value, str):
            return value
        if "Ref" in value:
            return self._PSEUDO.get(value["Ref"]) or self._stack.physical_ids.get(value["Ref"])
        if "Fn::GetAtt" in value and value["Fn::GetAtt"][1] == "Arn":
            return self._arn(value["Fn::GetAtt"][0])
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            resolved = [self(part) for part in parts]
            return None if None in resolved else separator.join(str(part) for part in resolved)
        return None

    def _arn(self, logical_id: str) -> str | None:
        physical = self._stack.physical_ids.get(logical_id)
        if physical is None:
            return None
        kind = self._resources[logical_id]["Type"]
        if physical.startswith("arn:"):
            return physical
        if kind == "AWS::DynamoDB::Table":
            return _table_arn(physical)
        if kind == "AWS::SQS::Queue":
            return _queue_arn({"QueueUrl": physical})
        if kind == "AWS::Events::EventBus":
            return _bus_arn(physical)
        if kind == "AWS::S3::Bucket":
            return f"arn:aws:s3:::{physical}"
        return None
