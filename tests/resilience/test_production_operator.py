"""A careless operator on a bad day: the deployment context as a person types it, and alarms that must reach
someone when the stack they watch goes wrong. Read from the synthesized template and the real config path."""

import re
from pathlib import Path
from typing import Any

import jmespath
import pytest

from infra.app import build_app
from infra.config import DeployConfigError
from infra.names import ROOT

README = ROOT / "README.md"
POLICY_TYPES = {"AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy", "AWS::IAM::Policy", "AWS::S3::BucketPolicy"}


def _statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = policy["PolicyDocument"]["Statement"]
    return statements


def _topics_alarms_notify(template: dict[str, Any]) -> set[str]:
    return {
        action["Ref"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
        for key in ("AlarmActions", "OKActions")
        for action in resource["Properties"].get(key, [])
    }


def test_cloudwatch_may_publish_to_the_topic_every_alarm_notifies(template: dict[str, Any]) -> None:
    """A topic policy replaces SNS's default one, which is what lets CloudWatch publish to a topic of its account.
    A TLS-only policy and nothing else leaves every alarm failing its action with "not authorized to perform
    SNS:Publish", and nobody hears of it."""
    topics = _topics_alarms_notify(template)
    assert topics
    policies = [
        resource["Properties"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::SNS::TopicPolicy"
    ]
    for topic in topics:
        statements = [
            statement for policy in policies if {"Ref": topic} in policy["Topics"] for statement in _statements(policy)
        ]
        if not statements:
            continue  # no policy of ours: SNS's default one lets the account's CloudWatch publish
        allowed = [
            statement
            for statement in statements
            if statement["Effect"] == "Allow"
            and statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
            and "sns:Publish"
            in (statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
        ]
        assert allowed, f"{topic}'s policy lets no alarm publish to it"


def _synth_error(layer_dir: Path, tmp_path: Path, **context: str) -> str:
    with pytest.raises(DeployConfigError) as refused:
        build_app(layer_dir=layer_dir, outdir=tmp_path, context=context)
    return str(refused.value)


@pytest.mark.parametrize("client_id", [" 8VurtMGDTeAI", "8VurtMGDTeAI ", "8Vurt MGDTeAI"])
def test_a_client_id_pasted_with_a_space_stops_the_synth_naming_the_key(
    layer_dir: Path, tmp_path: Path, client_id: str
) -> None:
    """Fortnox would answer the first connect with "Auth code or ClientID supplied is invalid", days later."""
    error = _synth_error(layer_dir, tmp_path, fortnox_client_id=client_id)
    assert "fortnox_client_id" in error


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("alarm-email", "alarm_email"), ("Stage", "stage"), ("fortnox-client-id", "fortnox_client_id")],
)
def test_a_context_key_spelled_as_a_person_would_stops_the_synth_naming_the_key_meant(
    layer_dir: Path, tmp_path: Path, typed: str, meant: str
) -> None:
    """`--context alarm-email=ops@...` used to be ignored: a prod stack whose alarms e-mail nobody, or a "prod"
    deploy that quietly became the dev stack."""
    context = {"fortnox_client_id": "8VurtMGDTeAI", typed: "prod" if meant == "stage" else "ops@example.se"}
    if meant == "fortnox_client_id":
        context = {typed: "8VurtMGDTeAI"}
    error = _synth_error(layer_dir, tmp_path, **context)
    assert typed in error and meant in error


def test_a_certificate_from_another_region_stops_the_synth_naming_both_regions(
    layer_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The certificate a person has at hand is often CloudFront's, in us-east-1. A regional API domain takes only a
    certificate of its own region: CloudFormation would refuse it halfway through the first deploy and roll back."""
    monkeypatch.setenv("CDK_DEFAULT_REGION", "eu-north-1")  # what the CDK CLI tells the app it deploys to
    error = _synth_error(
        layer_dir,
        tmp_path,
        fortnox_client_id="8VurtMGDTeAI",
        public_base_url="https://bridge.example.se",
        public_certificate_arn="arn:aws:acm:us-east-1:123456789012:certificate/0b7c6a2e-1d3f-4c5b-9a8e-7f6d5c4b3a21",
    )
    assert "public_certificate_arn" in error and "us-east-1" in error and "eu-north-1" in error


def test_the_guides_resource_helper_finds_the_resource_not_its_policy(template: dict[str, Any]) -> None:
    """`resource MonitoringAlarms` and `resource InvoiceExportWorkDeadLetters` also match the topic's and the queue's
    policies (`MonitoringAlarmsPolicy…`). CloudFormation does not promise an order, so the guide's query, as the AWS CLI
    evaluates it (JMESPath), must pick the resource whatever order the stack's resources come back in."""
    helper = next(line for line in README.read_text().splitlines() if line.startswith("resource() {"))
    query = re.search(r'--query "(.*?)" --output', helper)
    assert query
    names = set(re.findall(r"\(resource (\w+)\)", README.read_text()))
    listed = [
        {"LogicalResourceId": logical_id, "PhysicalResourceId": f"physical-{logical_id}"}
        for logical_id in template["Resources"]
    ]
    for name in names:
        for order in (sorted(listed, key=lambda row: row["LogicalResourceId"]), listed[::-1], listed):
            physical = jmespath.search(query.group(1).replace("'$1'", f"'{name}'"), {"StackResources": order})
            found = str(physical).removeprefix("physical-")
            assert template["Resources"][found]["Type"] not in POLICY_TYPES, f"`resource {name}` found {found}"


def _guide() -> str:
    text = README.read_text()
    return text[text.index("## Deploying to AWS") : text.index("## The Fortnox sandbox")]


def test_the_guide_asks_for_the_concurrency_the_stack_reserves(template: dict[str, Any]) -> None:
    """Lambda refuses a reservation that leaves fewer than 100 unreserved executions, and a new account may start
    far below the default 1,000: the first `cdk deploy` fails halfway unless the reader checks the quota first."""
    reserved = sum(
        resource["Properties"].get("ReservedConcurrentExecutions", 0)
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
    )
    guide = _guide()
    assert "aws lambda get-account-settings" in guide
    assert f"at least {reserved + 100}" in guide


def test_the_guide_clears_the_alarm_a_fresh_stack_starts_in(template: dict[str, Any]) -> None:
    """An alarm that treats missing data as breaching is in ALARM from the deploy until its metric first arrives:
    the keep-alive's runs a day later. The reader is told, and shown the invocation that clears it."""
    breaching = [
        resource["Properties"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
        and resource["Properties"].get("TreatMissingData") == "breaching"
    ]
    assert breaching
    invoked = re.findall(r'aws lambda invoke --function-name "\$\(resource (\w+)\)"', _guide())
    functions = [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
        and resource["Properties"]["Environment"]["Variables"].get("POWERTOOLS_SERVICE_NAME")
        in {dimension["Value"] for alarm in breaching for dimension in alarm.get("Dimensions", [])}
    ]
    assert functions and all(any(name.startswith(prefix) for prefix in invoked) for name in functions)
