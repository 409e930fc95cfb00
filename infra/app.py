"""The CDK app: ``npx cdk synth|deploy`` runs it through ``cdk.json``; ``make synth`` runs it without the CLI.

Both paths give the same template: the feature flags and any team defaults come from ``cdk.json``'s context here
too, the CLI's ``--context`` values and output folder (``CDK_OUTDIR``) are honoured, and the layer is built the same
way into the same folder, so its asset hash agrees.
"""

import json
import os
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_

from infra import compliance
from infra.config import DeployConfig, DeployConfigError
from infra.layer import build as build_layer
from infra.names import DEFAULT_LAYER_DIR, ROOT, stack_name
from infra.stack import FortnoxBridgeStack

CDK_JSON = ROOT / "cdk.json"
CLI_DEFAULTS: dict[str, Any] = {
    "aws:cdk:enable-path-metadata": True,
    "aws:cdk:enable-asset-metadata": True,
    "aws:cdk:version-reporting": True,
}
"""What the CDK CLI adds to every app's context unless told otherwise: without the CLI they are set here, so
``make synth`` writes the template ``cdk synth`` writes (construct paths, asset paths, the CDKMetadata resource)."""
ARCHITECTURES = {"arm64": lambda_.Architecture.ARM_64, "x86_64": lambda_.Architecture.X86_64}


def cdk_json_context() -> dict[str, Any]:
    """What the CLI would pass from ``cdk.json``: the feature flags above all, which change the template."""
    context: dict[str, Any] = json.loads(CDK_JSON.read_text())["context"]
    return context


def build_app(
    *, layer_dir: Path | None = None, outdir: Path | None = None, context: dict[str, Any] | None = None
) -> cdk.App:
    """``context`` as ``--context`` would give it (``fortnox_client_id``, ``stage``, ``public_base_url``, ...).

    Raises ``DeployConfigError`` naming every missing or invalid key before anything is built.
    """
    app = cdk.App(
        outdir=str(outdir or os.environ.get("CDK_OUTDIR") or ROOT / "cdk.out"),
        context={**CLI_DEFAULTS, **cdk_json_context(), **(context or {})},
    )
    config = DeployConfig.from_context(app.node.try_get_context, app.node.get_all_context())
    if layer_dir is None:
        # ``LAYER_DIR``, as in the tests: runs that happen at once build their layers apart.
        layer_root = Path(os.environ.get("LAYER_DIR") or DEFAULT_LAYER_DIR)
        layer_dir = build_layer(layer_root, architecture=config.architecture)
    FortnoxBridgeStack(
        app,
        stack_name(config.stage),
        layer_dir=layer_dir,
        fortnox_client_id=config.fortnox_client_id,
        fortnox_api_url=config.fortnox_api_url,
        fortnox_auth_url=config.fortnox_auth_url,
        public_base_url=config.public_base_url,
        notification_sender=config.notification_sender,
        stage=config.stage,
        architecture=ARCHITECTURES[config.architecture],
        alarm_email=config.alarm_email,
        public_certificate_arn=config.public_certificate_arn,
    )
    compliance.apply(app)  # cdk-nag: a finding nobody acknowledged stops the synth
    return app


def _context_arguments(arguments: list[str]) -> dict[str, str]:
    """``make synth CONTEXT="stage=prod fortnox_client_id=..."``: the CLI's ``--context`` pairs, without the CLI."""
    pairs = [argument.partition("=") for argument in arguments]
    if any(not key or not sep for key, sep, _ in pairs):
        raise DeployConfigError(f"context arguments are key=value pairs, got {arguments!r}")
    return {key: value for key, _, value in pairs}


def main(arguments: list[str]) -> None:
    try:
        app = build_app(context=_context_arguments(arguments))
    except DeployConfigError as error:
        sys.exit(str(error))
    app.synth()


if __name__ == "__main__":
    main(sys.argv[1:])
