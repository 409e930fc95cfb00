"""Typed settings, composed per function from small groups and read from the environment.

A missing or malformed variable fails at start-up with its name, never at the first request that needs it.
"""

import os
from functools import cache
from typing import Self, TypeVar

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, ValidationError

from fortnox_bridge.errors import ConfigurationError


class SettingsGroup(BaseModel):
    """A few settings that belong together, each field read from the environment variable its alias names, exactly
    as spelled. Plain pydantic rather than pydantic-settings: that library's sources (dotenv, secrets folders, the
    command line, cloud vaults) are none of ours, and importing them cost every function about a third of a bare
    ``import boto3`` at each cold start. A group's validator is built when the group is first loaded, not when this
    module is imported: a function loads a handful of the groups below, and building the others cost every cold
    start about 2 % of a bare ``import boto3``."""

    model_config = ConfigDict(extra="ignore", frozen=True, validate_default=True, defer_build=True)

    @classmethod
    def from_environment(cls) -> Self:
        variables = (field.alias for field in cls.model_fields.values() if field.alias is not None)
        return cls.model_validate({name: os.environ[name] for name in variables if name in os.environ})


class ObservabilitySettings(SettingsGroup):
    service_name: str = Field(default="fortnox-bridge", alias="POWERTOOLS_SERVICE_NAME")
    log_level: str = Field(default="INFO", alias="POWERTOOLS_LOG_LEVEL")


class AwsSettings(SettingsGroup):
    region: str = Field(alias="AWS_REGION")
    endpoint_url: AnyHttpUrl | None = Field(default=None, alias="AWS_ENDPOINT_URL")
    """Set to a moto server locally; unset in AWS."""


class TableSettings(SettingsGroup):
    table_name: str = Field(alias="TABLE_NAME")


class FortnoxSettings(SettingsGroup):
    api_url: AnyHttpUrl = Field(default=AnyHttpUrl("https://api.fortnox.se"), alias="FORTNOX_API_URL")
    auth_url: AnyHttpUrl = Field(default=AnyHttpUrl("https://apps.fortnox.se"), alias="FORTNOX_AUTH_URL")
    client_id: str = Field(alias="FORTNOX_CLIENT_ID")
    client_secret_id: str = Field(alias="FORTNOX_CLIENT_SECRET_ID")
    """Name or ARN of the Secrets Manager secret that holds the app's client secret."""
    timeout_seconds: float = Field(default=30.0, gt=0, alias="FORTNOX_TIMEOUT_SECONDS")


class RateLimitSettings(SettingsGroup):
    requests_per_window: int = Field(default=25, gt=0, alias="FORTNOX_RATE_LIMIT")
    window_seconds: float = Field(default=5.0, gt=0, alias="FORTNOX_RATE_WINDOW_SECONDS")
    margin_seconds: float = Field(default=0.1, ge=0, alias="FORTNOX_RATE_MARGIN_SECONDS")


class ConnectSettings(SettingsGroup):
    public_base_url: AnyHttpUrl = Field(alias="PUBLIC_BASE_URL")
    """Where the hosted pages are served; Fortnox redirects to ``{PUBLIC_BASE_URL}/oauth/callback``."""
    link_lifetime_days: int = Field(default=7, ge=1, le=90, alias="CONNECT_LINK_DAYS")


class SigningSettings(SettingsGroup):
    signing_key_id: str = Field(alias="CONNECT_SIGNING_KEY_ID")
    """Secrets Manager id of the key that signs OAuth states and status links (its current and previous versions)."""


DEFAULT_SECRET_NAME_ROOT = "fortnox-bridge"  # noqa: S105 - a name, not a secret
"""The root of secret names where no stack sets one: tests of the domain and the bench's own moto."""


def tenant_secret_prefix(root: str) -> str:
    """Where a stack keeps its tenants' Fortnox tokens; the stack grants on the same prefix."""
    return f"{root}/tenants/"


def webhook_secret_prefix(root: str) -> str:
    """Where a stack keeps its tenants' webhook signing secrets."""
    return f"{root}/webhooks/"


class SecretSettings(SettingsGroup):
    """The secrets a stack makes at run time: named under its own root, so two stages in one account never read or
    overwrite each other's tokens, and encrypted with its tenant-secrets key."""

    name_root: str = Field(
        default=DEFAULT_SECRET_NAME_ROOT, pattern=r"^[\w+=.@-]+(/[\w+=.@-]+)*$", alias="SECRET_NAME_ROOT"
    )
    tenant_secrets_key_id: str | None = Field(default=None, alias="TENANT_SECRETS_KEY_ID")
    """The KMS key new tenant and webhook secrets are created with; unset, Secrets Manager's own key (domain tests)."""

    @property
    def tenant_prefix(self) -> str:
        return tenant_secret_prefix(self.name_root)

    @property
    def webhook_prefix(self) -> str:
        return webhook_secret_prefix(self.name_root)


class EventSettings(SettingsGroup):
    bus_name: str = Field(alias="EVENT_BUS_NAME")


class PdfSettings(SettingsGroup):
    pdf_bucket: str = Field(alias="PDF_BUCKET")
    """Where upstream puts invoice PDFs; events name an object in it."""


class QueueSettings(SettingsGroup):
    max_receive_count: int = Field(ge=1, alias="MAX_RECEIVE_COUNT")
    """Deliveries before SQS moves a message to its dead-letter queue: the last one says why it failed."""


# -- export review (issue 10) -----------------------------------------------------------------------------------
class ExportQueueSettings(SettingsGroup):
    """Where a failed export's event goes when it is sent again: the queue of its kind."""

    invoice_queue_url: str = Field(alias="INVOICE_QUEUE_URL")
    voucher_queue_url: str = Field(alias="VOUCHER_QUEUE_URL")


class DigestSettings(SettingsGroup):
    """The failure digest's sender: an address of the bridge's verified SES identity."""

    sender: str = Field(alias="NOTIFICATION_SENDER")


# -- end of export review ---------------------------------------------------------------------------------------


# -- payment sync (issue 11) ---------------------------------------------------------------------------------------
class PaymentPollSettings(SettingsGroup):
    """Where the fan-out puts one poll job per due tenant."""

    poll_queue_url: str = Field(alias="PAYMENT_POLL_QUEUE_URL")


class WebhookSettings(SettingsGroup):
    """Where signed payment events wait for delivery to tenants' webhooks."""

    webhook_queue_url: str = Field(alias="WEBHOOK_QUEUE_URL")
    webhook_dead_letter_url: str = Field(alias="WEBHOOK_DEAD_LETTER_URL")
    """A delivery that exhausted its retries is put here by the worker, with the reason as message attributes."""


class WebhookDestinationSettings(SettingsGroup):
    """What a webhook URL may be. Its own group because two functions must agree on it and only one of them has the
    queues: the management API refuses a URL when it is saved, and the delivery worker checks it at every delivery."""

    allow_loopback: bool = Field(default=False, alias="WEBHOOK_ALLOW_LOOPBACK")
    """Only the local stack and its tests: http and 127.0.0.1 destinations. Never set in a deployed stack."""


# -- end of payment sync ------------------------------------------------------------------------------------------


class KeepAliveSettings(SettingsGroup):
    threshold_days: int = Field(default=30, ge=1, le=44, alias="KEEPALIVE_THRESHOLD_DAYS")


SettingsT = TypeVar("SettingsT", bound=SettingsGroup)


def load(settings_type: type[SettingsT]) -> SettingsT:
    """Build a settings group, naming every missing or invalid variable in one error."""
    try:
        return settings_type.from_environment()
    except ValidationError as error:
        problems = []
        for issue in error.errors():
            variable = ".".join(str(part) for part in issue["loc"])
            problems.append(f"{variable}: {'is not set' if issue['type'] == 'missing' else issue['msg']}")
        raise ConfigurationError(f"{settings_type.__name__} cannot start: " + "; ".join(problems)) from None


FORTNOX_CALLER: tuple[type[SettingsGroup], ...] = (
    AwsSettings,
    TableSettings,
    FortnoxSettings,
    RateLimitSettings,
    ConnectSettings,
    EventSettings,
)
"""What every function that calls Fortnox for a tenant needs: a lost connection is reported with a fresh link."""


def require(*groups: type[SettingsGroup]) -> None:
    """Check at cold start that every group a handler needs can be built; one error names every problem."""
    problems = []
    for group in groups:
        try:
            load(group)
        except ConfigurationError as error:
            problems.append(error.message)
    if problems:
        raise ConfigurationError(" | ".join(problems))


@cache
def aws() -> AwsSettings:
    return load(AwsSettings)


def secret_names() -> SecretSettings:
    """Read per call, not per process: tests switch stacks (and so roots) between cases."""
    return load(SecretSettings)
