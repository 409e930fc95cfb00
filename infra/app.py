"""``python -m infra.app``: synthesize into cdk.out without the CDK CLI and without Docker."""

import os
from pathlib import Path

import aws_cdk as cdk

from infra.names import DEFAULT_LAYER_DIR, ROOT, STACK_NAME
from infra.stack import FortnoxBridgeStack


def build_app(*, layer_dir: Path = DEFAULT_LAYER_DIR, outdir: Path = ROOT / "cdk.out") -> cdk.App:
    app = cdk.App(outdir=str(outdir))
    FortnoxBridgeStack(
        app,
        STACK_NAME,
        layer_dir=layer_dir,
        fortnox_client_id=app.node.try_get_context("fortnox_client_id") or os.environ.get("FORTNOX_CLIENT_ID", "unset"),
        fortnox_api_url=app.node.try_get_context("fortnox_api_url") or "https://api.fortnox.se",
        fortnox_auth_url=app.node.try_get_context("fortnox_auth_url") or "https://apps.fortnox.se",
        public_base_url=app.node.try_get_context("public_base_url"),
    )
    return app


if __name__ == "__main__":
    from infra.layer import build

    build_app(layer_dir=build()).synth()
