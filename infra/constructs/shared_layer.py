"""The Lambda layer every function uses: runtime dependencies and the fortnox_bridge package, compiled."""

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.layer import DEFAULT_ARCHITECTURE, STAMP, built_for

LAMBDA_ARCHITECTURES = {"arm64": lambda_.Architecture.ARM_64, "x86_64": lambda_.Architecture.X86_64}


def deployed_architecture(scope: Construct) -> lambda_.Architecture:
    """The stack's ``architecture`` setting (the ``architecture`` context), arm64 in a stack that has none."""
    architecture = getattr(cdk.Stack.of(scope), "architecture", None)
    return (
        architecture if isinstance(architecture, lambda_.Architecture) else LAMBDA_ARCHITECTURES[DEFAULT_ARCHITECTURE]
    )


class SharedLayer(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, layer_dir: Path) -> None:
        super().__init__(scope, construct_id)
        architecture = deployed_architecture(self)
        built = built_for(layer_dir)
        # Wheels with native code (pydantic_core, cryptography) import only on the architecture they were built for;
        # a mismatch would deploy and fail at every cold start.
        if built != architecture.name:
            raise ValueError(
                f"The layer in {layer_dir} was built for {built or 'nothing (no build of infra.layer there)'}, the "
                f"stack deploys {architecture.name}: build it with infra.layer.build(architecture="
                f"{architecture.name!r})"
            )
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            code=lambda_.Code.from_asset(str(layer_dir), exclude=[STAMP]),
            compatible_runtimes=[lambda_.Runtime.PYTHON_3_12],
            compatible_architectures=[architecture],
            description="fortnox_bridge and its runtime dependencies",
        )
