"""The way from the README to ``cdk deploy``: the CDK CLI and ``make synth`` write one template, the context is
checked before anything is built, stages never share a stack or a secret, and the guide names what the stack has."""

import json
import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from fortnox_bridge.ids import TenantId
from fortnox_bridge.mapping.rules import TenantMapping
from fortnox_bridge.store.mappings import MappingStore
from infra.app import build_app, main
from infra.config import DeployConfigError
from infra.names import ROOT, stack_name
from local_stack.stack import LOCAL_CLIENT_ID
from tests.conftest import LOCAL_API_KEY
from tests.exporting import Export, export

__all__ = ["export"]  # the fixture, imported so pytest finds it

README = ROOT / "README.md"
CLI = ROOT / "node_modules" / ".bin" / "cdk"
GUIDE_ENVIRONMENT = {
    "STAGE": "prod",
    "FORTNOX_CLIENT_ID": "fortnox-bridge-readme",
    "NOTIFICATION_SENDER": "bridge.example.se",
    "ALARM_EMAIL": "ops@example.se",
}
"""What the guide's reader has exported before its synth command (step 5)."""
CERTIFICATE = "arn:aws:acm:eu-north-1:123456789012:certificate/0b7c6a2e-1d3f-4c5b-9a8e-7f6d5c4b3a21"


def _guide() -> str:
    text = README.read_text()
    return text[text.index("## Deploying to AWS") : text.index("## The Fortnox sandbox")]


def _guide_command(start: str) -> str:
    lines = [line for line in _guide().splitlines() if line.startswith(start)]
    assert len(lines) == 1, f"the guide has one `{start}` command"
    return lines[0]


def _context_of(command: str) -> dict[str, str]:
    words = shlex.split(command)
    pairs = [words[index + 1] for index, word in enumerate(words) if word == "--context"]
    return dict(pair.split("=", 1) for pair in pairs)


def _template(app: Any, stage: str) -> dict[str, Any]:
    loaded: dict[str, Any] = app.synth().get_stack_by_name(stack_name(stage)).template
    return loaded


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {key: value for key, value in template["Resources"].items() if value["Type"] == "AWS::Lambda::Function"}


@pytest.fixture(scope="session")
def guide_context() -> dict[str, str]:
    synth = _guide_command("npx cdk synth ")
    expanded = re.sub(r"\$(\w+)", lambda name: GUIDE_ENVIRONMENT[name.group(1)], synth)
    return _context_of(expanded)


@pytest.fixture(scope="session")
def cli_synthesized(tmp_path_factory: pytest.TempPathFactory, layer_dir: Path) -> Path:
    """The guide's synth command as a person pastes it, once a session: the CLI from package-lock.json, the app
    from cdk.json, into a folder of the test's (``--output``, which the CLI hands the app as ``CDK_OUTDIR``)."""
    if not CLI.exists():
        pytest.fail("the CDK CLI is not installed: `make cdk-cli` (or `make test`) installs it from package-lock.json")
    outdir = tmp_path_factory.mktemp("cli.out")
    environment = {**os.environ, **GUIDE_ENVIRONMENT}
    command = f"{_guide_command('npx cdk synth ')} --output {shlex.quote(str(outdir))}"
    finished = subprocess.run(
        ["bash", "-c", command], cwd=ROOT, env=environment, capture_output=True, text=True, check=False
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    return outdir


def test_the_guides_cdk_synth_writes_the_template_make_synth_writes(
    cli_synthesized: Path, guide_context: dict[str, str], tmp_path: Path
) -> None:
    """``make synth``'s path (``infra.app.main``: build_app, the same layer builder) with the guide's context."""
    stage = guide_context["stage"]
    from_cli = json.loads((cli_synthesized / f"{stack_name(stage)}.template.json").read_text())
    from_make = _template(build_app(outdir=tmp_path, context=guide_context), stage)
    assert from_cli == from_make
    variables = next(iter(_functions(from_cli).values()))["Properties"]["Environment"]["Variables"]
    assert variables["FORTNOX_CLIENT_ID"] == GUIDE_ENVIRONMENT["FORTNOX_CLIENT_ID"]


def test_the_cli_reports_no_feature_flag_unset(cli_synthesized: Path) -> None:
    """Every flag the installed aws-cdk-lib reports is at its recommended value, as ``cdk flags`` judges it."""
    manifest = json.loads((cli_synthesized / "manifest.json").read_text())
    report = manifest["artifacts"]["aws-cdk-lib/feature-flag-report"]["properties"]["flags"]
    off_recommendation = [
        name
        for name, flag in report.items()
        if flag.get("userValue", flag.get("unconfiguredBehavesLike", {}).get("v2", False)) != flag["recommendedValue"]
    ]
    assert off_recommendation == []


def test_a_synth_without_a_client_id_fails_naming_it(
    layer_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FORTNOX_CLIENT_ID", raising=False)
    with pytest.raises(DeployConfigError, match="fortnox_client_id is required"):
        build_app(layer_dir=layer_dir, outdir=tmp_path, context={"stage": "prod"})
    # What `make synth` and the CLI run: the message without a traceback, and a failing exit status.
    with pytest.raises(SystemExit) as exit_:
        main(["stage=prod"])
    assert "fortnox_client_id is required" in str(exit_.value.code)


def test_the_client_id_may_come_from_the_environment(
    layer_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORTNOX_CLIENT_ID", "from-the-ci-job")
    template = _template(build_app(layer_dir=layer_dir, outdir=tmp_path), "dev")
    client_ids = {
        function["Properties"]["Environment"]["Variables"]["FORTNOX_CLIENT_ID"]
        for function in _functions(template).values()
        if "FORTNOX_CLIENT_ID" in function["Properties"]["Environment"]["Variables"]
    }
    assert client_ids == {"from-the-ci-job"}


@pytest.mark.parametrize(
    ("context", "named"),
    [
        ({"stage": "Prod"}, "stage"),
        ({"stage": "a-stage-name-far-too-long"}, "stage"),
        ({"fortnox_api_url": "http://api.fortnox.se"}, "fortnox_api_url"),
        ({"fortnox_auth_url": "apps.fortnox.se"}, "fortnox_auth_url"),
        ({"public_base_url": "https://bridge.example.se"}, "public_certificate_arn is required"),
        ({"public_base_url": "https://bridge.example.se", "public_certificate_arn": "cert"}, "public_certificate_arn"),
        ({"alarm_email": "ops"}, "alarm_email"),
        ({"architecture": "sparc"}, "architecture"),
    ],
)
def test_an_invalid_context_value_fails_naming_its_key(
    context: dict[str, str], named: str, layer_dir: Path, tmp_path: Path
) -> None:
    with pytest.raises(DeployConfigError, match=named):
        build_app(layer_dir=layer_dir, outdir=tmp_path, context={"fortnox_client_id": LOCAL_CLIENT_ID, **context})


def test_the_app_writes_where_the_cli_tells_it(
    layer_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CDK_OUTDIR", str(tmp_path / "from-the-cli"))
    app = build_app(layer_dir=layer_dir, context={"fortnox_client_id": LOCAL_CLIENT_ID})
    assert Path(app.outdir) == tmp_path / "from-the-cli"


def test_two_stages_share_neither_a_stack_nor_a_secret_root(
    layer_dir: Path, tmp_path: Path, template: dict[str, Any]
) -> None:
    context = {"fortnox_client_id": LOCAL_CLIENT_ID, "stage": "prod"}
    prod = _template(build_app(layer_dir=layer_dir, outdir=tmp_path, context=context), "prod")
    roots = {
        stage: {
            function["Properties"]["Environment"]["Variables"]["SECRET_NAME_ROOT"]
            for function in _functions(stage_template).values()
        }
        for stage, stage_template in (("dev", template), ("prod", prod))
    }
    assert roots == {"dev": {"fortnox-bridge/FortnoxBridge-dev"}, "prod": {"fortnox-bridge/FortnoxBridge-prod"}}


def test_the_guide_names_only_outputs_resources_and_dashboards_the_stack_has(
    layer_dir: Path, tmp_path: Path, guide_context: dict[str, str]
) -> None:
    """Its ``output X`` and ``resource X`` helpers match by prefix, as the guide's queries do (starts_with)."""
    context = {
        **guide_context,
        "public_base_url": "https://bridge.example.se",
        "public_certificate_arn": CERTIFICATE,
    }
    stage = guide_context["stage"]
    template = _template(build_app(layer_dir=layer_dir, outdir=tmp_path, context=context), stage)
    guide = _guide()
    outputs = set(re.findall(r"\(output (\w+)\)", guide))
    resources = set(re.findall(r"\(resource (\w+)\)", guide))
    dashboards = {name.replace("$STACK", stack_name(stage)) for name in re.findall(r"`(\$STACK-[a-z-]+)`", guide)}
    assert outputs >= {"ApiUrl", "InvoiceQueueUrl", "NotificationSender"}
    assert resources >= {"FortnoxClientSecret", "InvoiceExportWorkDeadLetters"}
    missing_outputs = {key for key in outputs if not any(name.startswith(key) for name in template["Outputs"])}
    missing_resources = {key for key in resources if not any(name.startswith(key) for name in template["Resources"])}
    dashboard_names = {
        resource["Properties"].get("DashboardName")
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::CloudWatch::Dashboard"
    }
    assert (missing_outputs, missing_resources, dashboards - dashboard_names) == (set(), set(), set())


@pytest.mark.integration
def test_the_guides_first_invoice_and_mapping_export_through_the_real_queue_path(export: Export) -> None:
    """Step 7's mapping and step 8's event, as the guide writes them, through the queue and the exporter."""
    mapping_call = _guide_command('api -X PUT "$API/tenants/$TENANT/mapping"')
    MappingStore(export.table).put(TenantId(export.tenant), TenantMapping.model_validate_json(_body_of(mapping_call)))
    guide = _guide()
    program = guide[guide.index("<<'PY'\n") + len("<<'PY'\n") : guide.index("\nPY\n")]
    made = subprocess.run(
        ["python3", "-", export.tenant], input=program, cwd=ROOT, capture_output=True, text=True, check=True
    )
    outcomes = export.send(made.stdout)
    assert [(outcome.received, outcome.failed) for outcome in outcomes] == [(1, 0)]
    [invoice] = export.invoices()
    assert invoice["ExternalInvoiceReference1"] == f"FB:{export.tenant}:100353"
    assert {row["AccountNumber"] for row in invoice["InvoiceRows"]} == {3041, 3001}
    assert export.dead_letters() == []


def _body_of(command: str) -> str:
    words = shlex.split(command)
    return words[words.index("-d") + 1]


@pytest.mark.integration
def test_the_guides_management_calls_answer_through_the_api(gateway: Any, unique: str) -> None:
    """Step 7's calls as written, against the local API (an API key stands in for SigV4): the last one is a link."""
    guide = _guide()
    step = guide[guide.index("### 7.") : guide.index("### 8.")]
    calls = [shlex.split(line) for line in step.splitlines() if line.startswith("api -X ")]
    assert [words[2] for words in calls] == ["PUT", "PUT", "PUT", "POST"]
    answers = []
    for words in calls:
        url = words[3].replace("$API", gateway.url).replace("$TENANT", unique)
        body = words[words.index("-d") + 1]
        answer = httpx.request(
            words[2], url, content=body, headers={"x-api-key": LOCAL_API_KEY, "content-type": "application/json"}
        )
        assert answer.is_success, answer.text
        answers.append(answer.json())
    assert answers[-1]["url"].startswith(f"{gateway.url}/connect/")
