"""The Lambda layer every function uses: runtime dependencies and the fortnox_bridge package."""

from pathlib import Path

from aws_cdk import aws_lambda as lambda_
from constructs import Construct


class SharedLayer(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, layer_dir: Path) -> None:
        super().__init__(scope, construct_id)
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            code=lambda_.Code.from_asset(str(layer_dir)),
            compatible_runtimes=[lambda_.Runtime.PYTHON_3_12],
            compatible_architectures=[lambda_.Architecture.X86_64],
            description="fortnox_bridge and its runtime dependencies",
        )
