"""cdk-nag (AwsSolutions and Serverless packs) and cfn-lint on the synthesized stack, as a platform review runs them.

Every synth runs both packs and raises ``ValidationFailed`` on a finding nobody acknowledged. These tests read what a
synth leaves in the cloud assembly (``validation-report.json``, ``tree.json``): the session's dev synth, and a
production-shaped one with every optional feature on (custom domain, alarm e-mail) and one unreviewed resource added.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import cfnlint.api
import pytest
from aws_cdk import aws_sqs as sqs
from cfnlint.config import ManualArgs

from infra.compliance import ACKNOWLEDGMENTS, PACKS
from infra.names import stack_name
from local_stack.stack import LOCAL_CLIENT_ID

PRODUCTION_CONTEXT = {
    "stage": "prod",
    "fortnox_client_id": LOCAL_CLIENT_ID,
    "public_base_url": "https://bridge.example.se",
    "public_certificate_arn": "arn:aws:acm:eu-north-1:123456789012:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
    "alarm_email": "oncall@example.se",
}
PRODUCTION_STACK = stack_name("prod")

DEPLOY_REGIONS = ["eu-north-1"]
"""Where the bridge runs, next to Fortnox; cfn-lint checks resource and property availability per region."""

X_RAY_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


@dataclass(frozen=True)
class Assembly:
    report: dict[str, Any]
    construct_paths: list[str]
    template: dict[str, Any]


def _read_assembly(directory: Path, stack: str) -> Assembly:
    def paths(node: dict[str, Any]) -> Iterator[str]:
        yield node["path"]
        for child in node.get("children", {}).values():
            yield from paths(child)

    tree = json.loads((directory / "tree.json").read_text())["tree"]["children"][stack]
    return Assembly(
        report=json.loads((directory / "validation-report.json").read_text()),
        construct_paths=[path for path in paths(tree) if path != stack],
        template=json.loads((directory / f"{stack}.template.json").read_text()),
    )


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _unacknowledged(report: dict[str, Any]) -> list[str]:
    return sorted(
        f"{violation['ruleName']} on {construct['constructPath']}"
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    )


@pytest.fixture(scope="module")
def production(layer_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Assembly:
    """The production-shaped synth, with a queue nobody reviewed: it must stop, naming that queue and nothing else."""
    from infra.app import build_app

    outdir = tmp_path_factory.mktemp("cdk.out.prod")
    app = build_app(layer_dir=layer_dir, outdir=outdir, context=PRODUCTION_CONTEXT)
    sqs.Queue(cdk.Stack.of(app.node.find_child(PRODUCTION_STACK)), "Unreviewed")
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    return _read_assembly(outdir, PRODUCTION_STACK)


def test_both_packs_ran_on_the_synth_and_left_no_unacknowledged_finding(synthesized: Any) -> None:
    report = _read_assembly(Path(synthesized.assembly.directory), synthesized.stack_name).report
    assert sorted(plugin["pluginName"] for plugin in report["pluginReports"]) == sorted(PACKS)
    assert _unacknowledged(report) == []
    assert {plugin["conclusion"] for plugin in report["pluginReports"]} == {"success"}


def test_a_finding_nobody_acknowledged_stops_the_synth_and_is_the_only_one_in_production(
    production: Assembly,
) -> None:
    unreviewed = f"{PRODUCTION_STACK}/Unreviewed/Resource"
    findings = _unacknowledged(production.report)
    assert f"AwsSolutions-SQS3 on {unreviewed}" in findings
    assert f"Serverless-SQSRedrivePolicy on {unreviewed}" in findings
    assert [finding for finding in findings if not finding.endswith(f" on {unreviewed}")] == []


def test_every_acknowledgment_gives_a_reason_and_covers_a_real_finding_on_each_construct_it_names(
    production: Assembly,
) -> None:
    """An acknowledgment that names no construct, or a construct without that finding, is stale: it would silently
    cover the next resource that happens to match."""
    used = {
        (suppressed["acknowledgedId"], suppressed["acknowledgedAt"])
        for plugin in production.report["pluginReports"]
        for suppressed in plugin.get("suppressedViolations", [])
    }
    problems: list[str] = []
    for acknowledgment in ACKNOWLEDGMENTS:
        if len(acknowledgment.reason.split()) < 12:
            problems.append(f"{acknowledgment.rule}: a reason a reviewer can check, not {acknowledgment.reason!r}")
        targets = [
            path
            for path in production.construct_paths
            if acknowledgment.covers(path.removeprefix(f"{PRODUCTION_STACK}/"))
        ]
        if not targets:
            problems.append(f"{acknowledgment.rule}: {acknowledgment.paths} name no construct")
        problems += [
            f"{acknowledgment.rule}: no such finding on {target}"
            for target in targets
            if (acknowledgment.qualified_id(PRODUCTION_STACK), target) not in used
        ]
    assert problems == []


def test_no_role_is_granted_anything_on_every_resource_but_x_ray(template: dict[str, Any]) -> None:
    """The guard behind acknowledging ``AwsSolutions-IAM5[Resource::*]``: that finding is X-Ray's and only X-Ray's."""
    granted_on_everything = {
        action
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::IAM::Policy"
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
        if "*" in _listed(statement["Resource"])
        for action in _listed(statement["Action"])
    }
    assert granted_on_everything <= X_RAY_ACTIONS


def test_each_function_writes_logs_to_its_own_log_group_and_no_role_has_a_managed_policy(
    template: dict[str, Any],
) -> None:
    """What replaced ``AWSLambdaBasicExecutionRole`` (``AwsSolutions-IAM4``): log writes on the function's own group."""
    resources = template["Resources"]
    assert [key for key, value in resources.items() if value.get("Properties", {}).get("ManagedPolicyArns")] == []
    log_writes: dict[str, list[Any]] = {}
    for value in resources.values():
        if value["Type"] == "AWS::IAM::Policy":
            for statement in value["Properties"]["PolicyDocument"]["Statement"]:
                if any(action.startswith("logs:") for action in _listed(statement["Action"])):
                    assert sorted(_listed(statement["Action"])) == ["logs:CreateLogStream", "logs:PutLogEvents"]
                    for role in value["Properties"]["Roles"]:
                        log_writes.setdefault(role["Ref"], []).append(statement["Resource"])
    functions = [value["Properties"] for value in resources.values() if value["Type"] == "AWS::Lambda::Function"]
    assert functions
    for function in functions:
        own_group = {"Fn::GetAtt": [function["LoggingConfig"]["LogGroup"]["Ref"], "Arn"]}
        assert log_writes.pop(function["Role"]["Fn::GetAtt"][0]) == [own_group]
    assert log_writes == {}


def _redundant_role_dependency(match: Any, template: dict[str, Any]) -> bool:
    """W3005 on a function's ``DependsOn`` its own role: the CDK makes every function depend on its role and the
    role's policy, so the function starts only once it may do its work; the role half repeats the ``GetAtt`` and
    changes nothing in the deploy order."""
    if match.rule.id != "W3005" or len(match.path) != 4 or match.path[2] != "DependsOn":
        return False
    resource = template["Resources"][match.path[1]]
    role = resource.get("Properties", {}).get("Role", {}).get("Fn::GetAtt", [None])[0]
    return bool(resource["Type"] == "AWS::Lambda::Function" and resource["DependsOn"][match.path[3]] == role)


def _lint(template: dict[str, Any]) -> list[str]:
    matches = cfnlint.api.lint(json.dumps(template), config=ManualArgs(regions=DEPLOY_REGIONS))
    return [
        f"{match.rule.id} {'/'.join(map(str, match.path))}: {match.message}"
        for match in matches
        if not _redundant_role_dependency(match, template)
    ]


def test_cfn_lint_finds_no_error_and_no_warning_in_the_template(template: dict[str, Any]) -> None:
    assert _lint(template) == []


def test_cfn_lint_finds_no_error_and_no_warning_in_the_production_template(production: Assembly) -> None:
    assert _lint(production.template) == []
