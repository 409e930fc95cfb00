"""``python -m infra.app``: synthesize into cdk.out without the CDK CLI and without Docker."""

import os
from pathlib import Path

import aws_cdk as cdk

from infra.names import DEFAULT_LAYER_DIR, DEFAULT_NOTIFICATION_SENDER, ROOT, STACK_NAME
from infra.stack import FortnoxBridgeStack


def build_app(
    *, layer_dir: Path = DEFAULT_LAYER_DIR, outdir: Path = ROOT / "cdk.out", context: dict[str, str] | None = None
) -> cdk.App:
    """``context`` as ``--context`` would give it (``public_base_url``, ``notification_sender``, ...)."""
    app = cdk.App(outdir=str(outdir), context=context)
    FortnoxBridgeStack(
        app,
        STACK_NAME,
        layer_dir=layer_dir,
        fortnox_client_id=app.node.try_get_context("fortnox_client_id") or os.environ.get("FORTNOX_CLIENT_ID", "unset"),
        fortnox_api_url=app.node.try_get_context("fortnox_api_url") or "https://api.fortnox.se",
        fortnox_auth_url=app.node.try_get_context("fortnox_auth_url") or "https://apps.fortnox.se",
        public_base_url=app.node.try_get_context("public_base_url"),
        notification_sender=app.node.try_get_context("notification_sender") or DEFAULT_NOTIFICATION_SENDER,
    )
    return app


if __name__ == "__main__":
    from infra.layer import build

    build_app(layer_dir=build()).synth()
