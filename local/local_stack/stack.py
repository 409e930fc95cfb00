"""The whole local stack in one context manager: moto, the Fortnox sandbox, the deployed template, the runner."""

import os
import secrets as random_secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from fortnox_bridge import wiring
from fortnox_sandbox.control_client import AppCredentials, SandboxControl
from fortnox_sandbox.server import SandboxApp, SandboxServer
from fortnox_sandbox.state import SandboxState
from local_stack.api_gateway import LocalApiGateway
from local_stack.deploy import DeployedStack, deploy
from local_stack.moto_server import REGION, aws_environment, free_port, running_moto
from local_stack.runner import LocalRunner

LOCAL_CLIENT_ID = "fortnox-bridge-local"
LOCAL_CLIENT_SECRET = "local-client-secret"  # noqa: S105 - a sandbox-only credential
LOCAL_API_KEY = "local-api-key"
"""Stands in for IAM on the management routes of the local API."""


@dataclass
class LocalStack:
    moto_url: str
    sandbox: SandboxServer
    control: SandboxControl
    deployed: DeployedStack
    runner: LocalRunner
    app: AppCredentials
    api_url: str

    def logical(self, prefix: str) -> str:
        return next(value for key, value in self.deployed.physical_ids.items() if key.startswith(prefix))

    def send(self, queue_prefix: str, body: str) -> None:
        sqs = boto3.client("sqs", endpoint_url=self.moto_url, region_name=REGION)
        sqs.send_message(QueueUrl=self.logical(queue_prefix), MessageBody=body)

    def queue_depth(self, queue_prefix: str) -> int:
        sqs = boto3.client("sqs", endpoint_url=self.moto_url, region_name=REGION)
        attributes = sqs.get_queue_attributes(
            QueueUrl=self.logical(queue_prefix),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def synthesize(outdir: Path | None = None) -> dict[str, Any]:
    """Build the layer and synthesize the app, exactly as ``make synth`` does."""
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from infra.app import build_app
    from infra.layer import build
    from infra.names import ROOT, STACK_NAME

    app = build_app(
        layer_dir=build(), outdir=outdir or ROOT / "cdk.out", context={"fortnox_client_id": LOCAL_CLIENT_ID}
    )
    template: dict[str, Any] = app.synth().get_stack_by_name(STACK_NAME).template
    return template


@contextmanager
def local_stack(
    template: dict[str, Any], *, rate_limit: int = 25, rate_window_seconds: float = 5.0
) -> Iterator[LocalStack]:
    sandbox_app = SandboxApp(SandboxState(rate_limit=rate_limit, rate_window_seconds=rate_window_seconds))
    with running_moto() as moto_url, SandboxServer(app=sandbox_app) as sandbox:
        os.environ.update(aws_environment(moto_url))
        deployed = deploy(template, moto_url)
        secrets = boto3.client("secretsmanager", endpoint_url=moto_url, region_name=REGION)
        for prefix, value in (("FortnoxClientSecret", LOCAL_CLIENT_SECRET), ("ConnectSigningKey", secrets_token())):
            arn = next(physical for key, physical in deployed.physical_ids.items() if key.startswith(prefix))
            secrets.put_secret_value(SecretId=arn, SecretString=value)
        api_port = free_port()
        api_url = f"http://127.0.0.1:{api_port}"
        control = SandboxControl(sandbox.url)
        app = control.create_app(LOCAL_CLIENT_ID, LOCAL_CLIENT_SECRET, [f"{api_url}/oauth/callback"])
        overrides = {
            "PUBLIC_BASE_URL": api_url,
            "FORTNOX_API_URL": sandbox.url,
            "FORTNOX_AUTH_URL": sandbox.url,
            "FORTNOX_CLIENT_ID": LOCAL_CLIENT_ID,
            "FORTNOX_RATE_WINDOW_SECONDS": str(rate_window_seconds),
            "FORTNOX_RATE_LIMIT": str(rate_limit),
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_NAMESPACE": "FortnoxBridgeLocal",
            # The demo's webhook receiver listens on 127.0.0.1; a deployed stack never allows it.
            "WEBHOOK_ALLOW_LOOPBACK": "true",
            **aws_environment(moto_url),
        }
        wiring.reset()
        runner = LocalRunner(deployed, overrides=overrides)
        gateway = LocalApiGateway(template, runner, api_key=LOCAL_API_KEY, port=api_port).start()
        try:
            yield LocalStack(
                moto_url=moto_url,
                sandbox=sandbox,
                control=control,
                deployed=deployed,
                runner=runner,
                app=app,
                api_url=api_url,
            )
        finally:
            gateway.stop()
            control.close()
            wiring.reset()


def secrets_token() -> str:
    return random_secrets.token_urlsafe(48)
