"""Rotating the connect signing key: the four steps Secrets Manager asks of a rotation function.

The key signs only inside the bridge, so there is nothing outside to tell (``setSecret`` does nothing). A new key is
staged ``AWSPENDING``, checked, then made ``AWSCURRENT``; Secrets Manager moves ``AWSPREVIOUS`` to the key before, which
keeps verifying what it signed (``signing_keys``). Every step may run again after a failure and ends where it would
have the first time.
"""

import secrets
from enum import StrEnum
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field

from fortnox_bridge.connect.signing_keys import CURRENT_STAGE, key_id
from fortnox_bridge.errors import BadInputError

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager.client import SecretsManagerClient

PENDING_STAGE = "AWSPENDING"
KEY_CHARACTERS = 64
"""As long as the key CloudFormation generated first (64 characters): the same strength across rotations."""
SHORTEST_KEY = 32


class Step(StrEnum):
    CREATE = "createSecret"
    SET = "setSecret"
    TEST = "testSecret"
    FINISH = "finishSecret"


class RotationRequest(BaseModel):
    """What Secrets Manager sends the rotation function, once per step."""

    model_config = ConfigDict(frozen=True)

    secret_id: str = Field(alias="SecretId", min_length=1)
    token: str = Field(alias="ClientRequestToken", min_length=32, max_length=64)
    step: Step = Field(alias="Step")


class RotationRefused(BadInputError):
    """The request does not name a rotation in progress of the signing key, or the new key is unfit to sign."""


def new_key() -> str:
    return secrets.token_urlsafe(KEY_CHARACTERS * 3 // 4)


class SigningKeyRotation:
    def __init__(self, client: "SecretsManagerClient", signing_key_id: str) -> None:
        self._client = client
        self._signing_key_id = signing_key_id

    def run(self, request: RotationRequest) -> None:
        if self._already_current(request):
            return
        if request.step is Step.CREATE:
            self._create(request)
        elif request.step is Step.TEST:
            self._test(request)
        elif request.step is Step.FINISH:
            self._finish(request)

    def _may_name_the_key(self, secret_id: str) -> bool:
        """False when ``secret_id`` cannot be the signing key: the stack gives the key's ARN, and a request names a
        secret by its ARN (as Secrets Manager does) or by its name, the ARN's last part less its six-character
        suffix. Told a name instead of an ARN, the function cannot tell without asking."""
        key = self._signing_key_id
        if not key.startswith("arn:") or ":secret:" not in key:
            return True
        if secret_id.startswith("arn:"):
            return secret_id == key
        return secret_id == key.split(":secret:", 1)[1].rsplit("-", 1)[0]

    def _already_current(self, request: RotationRequest) -> bool:
        """True when this rotation has finished (a step sent again): nothing is left to do."""
        # Only the bridge's signing key: the function's role can write no other secret, and it is told which one.
        # Refused before any call when the request plainly names another secret (the role may not even describe
        # one), then checked again against what Secrets Manager says the named secret is.
        if not self._may_name_the_key(request.secret_id):
            raise RotationRefused("this function rotates the connect signing key only")
        described = self._client.describe_secret(SecretId=request.secret_id)
        if self._signing_key_id not in (described["ARN"], described["Name"]):
            raise RotationRefused("this function rotates the connect signing key only")
        stages = described.get("VersionIdsToStages", {}).get(request.token)
        if stages is None and request.step is Step.CREATE:
            # Secrets Manager stages the version before it asks; a rotation driven step by step (a person, a test)
            # has the create step stage it, which is the same version under the same token.
            return False
        if stages is None:
            raise RotationRefused("the secret has no version for this rotation")
        if CURRENT_STAGE in stages:
            return True
        if PENDING_STAGE not in stages:
            raise RotationRefused("the version of this rotation is neither pending nor current")
        return False

    def _create(self, request: RotationRequest) -> None:
        try:
            self._client.get_secret_value(
                SecretId=request.secret_id, VersionId=request.token, VersionStage=PENDING_STAGE
            )
            return
        except ClientError as error:
            if _code(error) != "ResourceNotFoundException":
                raise
        self._client.put_secret_value(
            SecretId=request.secret_id,
            ClientRequestToken=request.token,
            SecretString=new_key(),
            VersionStages=[PENDING_STAGE],
        )

    def _test(self, request: RotationRequest) -> None:
        pending = self._value(request.secret_id, VersionId=request.token, VersionStage=PENDING_STAGE)
        current = self._value(request.secret_id, VersionStage=CURRENT_STAGE)
        if len(pending) < SHORTEST_KEY:
            raise RotationRefused(f"the new signing key is shorter than {SHORTEST_KEY} characters")
        # Tokens name their key by key id: two keys with one id could not be told apart.
        if key_id(pending.encode()) == key_id(current.encode()):
            raise RotationRefused("the new signing key has the current key's key id: rotate again")

    def _finish(self, request: RotationRequest) -> None:
        stages = self._client.describe_secret(SecretId=request.secret_id).get("VersionIdsToStages", {})
        current = next((version for version, names in stages.items() if CURRENT_STAGE in names), None)
        self._client.update_secret_version_stage(
            SecretId=request.secret_id,
            VersionStage=CURRENT_STAGE,
            MoveToVersionId=request.token,
            **({"RemoveFromVersionId": current} if current else {}),
        )
        # Left on the current version, the label would read as a rotation still under way.
        self._client.update_secret_version_stage(
            SecretId=request.secret_id, VersionStage=PENDING_STAGE, RemoveFromVersionId=request.token
        )

    def _value(self, secret_id: str, **version: str) -> str:
        return self._client.get_secret_value(SecretId=secret_id, **version)["SecretString"]


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
