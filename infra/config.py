"""What a deployment is told through CDK context (``--context key=value`` or ``cdk.json``), checked before synth.

A bad value stops the synth with the context key's name, so nothing reaches CloudFormation half-configured.
"""

import os
import re
from collections.abc import Callable, Iterable
from difflib import get_close_matches
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from infra.names import DEFAULT_NOTIFICATION_SENDER

CLIENT_ID_ENV = "FORTNOX_CLIENT_ID"
"""Read when the ``fortnox_client_id`` context is not given, for a CI job that keeps the id in its environment."""

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_CERTIFICATE_ARN = re.compile(r"arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[A-Za-z0-9-]+")


def _https_url(value: str) -> str:
    """An https origin, kept as given but for a trailing slash the code would double when it appends a path."""
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment:
        raise ValueError("must be an https URL such as https://bridge.example.se (no query, no fragment)")
    return value.rstrip("/")


def _email(value: str) -> str:
    if not _EMAIL.fullmatch(value):
        raise ValueError("must be an e-mail address")
    return value


def _certificate_arn(value: str) -> str:
    if not _CERTIFICATE_ARN.fullmatch(value):
        raise ValueError("must be an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)")
    return value


HttpsUrl = Annotated[str, AfterValidator(_https_url)]


class DeployConfigError(ValueError):
    """Every context key that is missing or wrong, each with what it must be."""


class DeployConfig(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    stage: str = Field(default="dev", pattern=r"^[a-z][a-z0-9-]{0,15}$")
    """Part of the stack's name and of its secrets' names, so stages share an account without sharing tokens."""
    fortnox_client_id: str = Field(pattern=r"^\S+$")
    """No whitespace: a space pasted with the id is refused here, not by Fortnox at the first tenant's connect."""
    fortnox_api_url: HttpsUrl = "https://api.fortnox.se"
    fortnox_auth_url: HttpsUrl = "https://apps.fortnox.se"
    public_base_url: HttpsUrl | None = None
    """A custom domain for the hosted pages and the API; the redirect URI is ``{public_base_url}/oauth/callback``."""
    public_certificate_arn: Annotated[str, AfterValidator(_certificate_arn)] | None = None
    notification_sender: str = Field(default=DEFAULT_NOTIFICATION_SENDER, min_length=3)
    alarm_email: Annotated[str, AfterValidator(_email)] | None = None
    architecture: Literal["arm64", "x86_64"] = "arm64"

    @model_validator(mode="after")
    def _custom_domain_has_a_certificate(self) -> Self:
        if self.public_base_url and not self.public_certificate_arn:
            raise ValueError(
                "public_certificate_arn is required with public_base_url: an ACM certificate for its host, "
                "in the stack's region"
            )
        # The stack is env-agnostic: it goes where the CLI that deploys it says, and the CLI tells the app so.
        region = os.environ.get("CDK_DEFAULT_REGION", "")
        certificate_region = (self.public_certificate_arn or "").split(":")[3:4]
        if self.public_base_url and region and certificate_region != [region]:
            raise ValueError(
                f"public_certificate_arn is in {certificate_region[0]}, the stack deploys to {region}: a regional "
                f"custom domain needs a certificate of its own region (request or import one in {region})"
            )
        return self

    @classmethod
    def from_context(cls, get: Callable[[str], Any], keys: Iterable[str] = ()) -> "DeployConfig":
        """``get`` is ``app.node.try_get_context``; keys that are absent or empty take their defaults. ``keys`` is
        every context key given, so one that is ours misspelled (``alarm-email``) fails instead of being ignored."""
        misspelled = [
            f"{key}: not a context key; did you mean {_ours(key)}?" for key in keys if _ours(key) not in (None, key)
        ]
        values = {name: get(name) for name in cls.model_fields}
        if not values["fortnox_client_id"]:
            values["fortnox_client_id"] = os.environ.get(CLIENT_ID_ENV)
        given = {name: value for name, value in values.items() if value not in (None, "")}
        try:
            config = cls.model_validate(given)
        except ValidationError as error:
            raise DeployConfigError(_explain(error, misspelled)) from None
        if misspelled:
            raise DeployConfigError(_explain(None, misspelled))
        return config


def _ours(key: str) -> str | None:
    """The key of ours that ``key`` is, told apart only by case, ``-`` for ``_`` or a small typo; None for the
    CLI's and the feature flags' keys (``aws:cdk:...``, ``@aws-cdk/...``) and anything else."""
    if ":" in key or key.startswith("@"):
        return None
    normal = key.strip().lower().replace("-", "_")
    close = get_close_matches(normal, DeployConfig.model_fields, n=1, cutoff=0.85)
    return close[0] if close else None


def _explain(error: ValidationError | None, misspelled: list[str]) -> str:
    lines = list(misspelled)
    for problem in error.errors() if error else []:
        key = ".".join(str(part) for part in problem["loc"])
        if key == "fortnox_client_id" and problem["type"] == "missing":
            lines.append(
                "fortnox_client_id is required: your Fortnox app's client id, as "
                f"--context fortnox_client_id=<id> (or the {CLIENT_ID_ENV} environment variable)"
            )
        elif key:
            message = str(problem["msg"]).removeprefix("Value error, ")
            lines.append(f"{key}: {message} (got {problem.get('input')!r})")
        else:
            lines.append(str(problem["msg"]).removeprefix("Value error, "))
    return "Invalid deployment context:\n  " + "\n  ".join(lines)
