"""Production wiring: builds the stores and a tenant's Fortnox client from settings, once per process.

What an invoice would otherwise pay for again and again lives here once per process: the settings, the AWS
clients, one Secrets Manager provider (with its cache), one HTTP pool per Fortnox host and the access tokens in use
(``token_cache``). ``reset`` forgets all of it.
"""

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
from aws_lambda_powertools.utilities import parameters
from botocore.exceptions import ClientError

from fortnox_bridge import aws, settings
from fortnox_bridge.connect.signing_keys import SigningKeys, read_key_ring
from fortnox_bridge.errors import BadInputError
from fortnox_bridge.events import EventBridgePublisher
from fortnox_bridge.fortnox.http import shared_client
from fortnox_bridge.fortnox.oauth import ServiceAccountTokens, TokenEndpoint, fortnox_tenant_claim
from fortnox_bridge.fortnox.ports import StaticToken, TokenProvider
from fortnox_bridge.ids import TenantId
from fortnox_bridge.once import once
from fortnox_bridge.ratelimit.sliding_window import DynamoDbSlidingWindow, WindowRule
from fortnox_bridge.store.connections import Connection, ConnectionStore
from fortnox_bridge.store.links import ConsentStates, LinkStore
from fortnox_bridge.store.locks import LockStore
from fortnox_bridge.store.tenants import TenantStore
from fortnox_bridge.tokens.cache import TokenCache, request_lifetime, reuse_margin
from fortnox_bridge.tokens.secret_store import SecretTokenStore
from fortnox_bridge.tokens.tenant_tokens import TenantTokens

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

    from fortnox_bridge.connect.key_rotation import SigningKeyRotation
    from fortnox_bridge.connect.service import ConnectService
    from fortnox_bridge.contracts.invoices import S3ObjectRef
    from fortnox_bridge.export.digest import FailureDigest
    from fortnox_bridge.export.exporter import InvoiceExporter
    from fortnox_bridge.export.review import ExportReview
    from fortnox_bridge.fortnox.client import FortnoxClient
    from fortnox_bridge.fortnox.models.registers import CompanyInformation
    from fortnox_bridge.payments.poller import PaymentPoller
    from fortnox_bridge.schedule.fan_out import PaymentFanOut
    from fortnox_bridge.status.links import StatusLinks
    from fortnox_bridge.status.service import StatusService
    from fortnox_bridge.store.tenant_reads import TenantReader
    from fortnox_bridge.vouchers.exporter import VoucherExporter
    from fortnox_bridge.webhooks.deliverer import WebhookDeliverer
    from fortnox_bridge.webhooks.outbox import WebhookOutbox
    from fortnox_bridge.webhooks.secrets import WebhookSecretIssuer


@once
def fortnox_settings() -> settings.FortnoxSettings:
    return settings.load(settings.FortnoxSettings)


@once
def table() -> "Table":
    return aws.dynamodb().Table(settings.load(settings.TableSettings).table_name)


@once
def window_rule() -> WindowRule:
    limits = settings.load(settings.RateLimitSettings)
    return WindowRule(limits.requests_per_window, limits.window_seconds, limits.margin_seconds)


@once
def secrets_provider() -> parameters.SecretsProvider:
    """One per process: Powertools caches values per provider, so a provider made per call reads every time."""
    return parameters.SecretsProvider(boto3_client=aws.secrets())


def client_secret() -> str:
    """Read through Powertools' cache: a token request pays for no Secrets Manager read."""
    return str(secrets_provider().get(fortnox_settings().client_secret_id, max_age=300))


def current_client_secret() -> str:
    """Read past the cache (and renew it), when Fortnox refuses the cached copy: the secret may have been rotated."""
    return str(secrets_provider().get(fortnox_settings().client_secret_id, max_age=300, force_fetch=True))


_pools: dict[str, httpx.Client] = {}
_pools_guard = threading.Lock()


def http_pool(url: str) -> httpx.Client:
    """The process's one keep-alive pool to ``url``'s host, shared by every tenant (safe to share: see
    ``fortnox.http.shared_client``). Clients built on it never close it; ``reset`` does."""
    origin = httpx.URL(url)
    key = f"{origin.scheme}://{origin.host}:{origin.port}"
    with _pools_guard:
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = shared_client(fortnox_settings().timeout_seconds)
        return pool


@once
def token_endpoint() -> TokenEndpoint:
    config = fortnox_settings()
    return TokenEndpoint(
        auth_url=str(config.auth_url),
        client_id=config.client_id,
        client_secret=client_secret,
        current_client_secret=current_client_secret,
        http=http_pool(str(config.auth_url)),
    )


@once
def token_cache() -> TokenCache:
    return TokenCache()


def token_margin() -> float:
    return reuse_margin(request_timeout=fortnox_settings().timeout_seconds, rate_window=window_rule().window_seconds)


def token_lifetime_needed() -> float:
    """The life a kept token must have left to carry one request (``tokens.cache.request_lifetime``)."""
    return request_lifetime(
        request_timeout=fortnox_settings().timeout_seconds, rate_window=window_rule().window_seconds
    )


def limiter(fortnox_tenant: int | str) -> DynamoDbSlidingWindow:
    return DynamoDbSlidingWindow(
        table(), client_id=fortnox_settings().client_id, tenant_key=str(fortnox_tenant), rule=window_rule()
    )


def secrets_store() -> SecretTokenStore:
    names = settings.secret_names()
    return SecretTokenStore(aws.secrets(), names.tenant_prefix, kms_key_id=names.tenant_secrets_key_id)


def publisher() -> EventBridgePublisher:
    return EventBridgePublisher(aws.events(), settings.load(settings.EventSettings).bus_name)


_remaining_time: list[Callable[[], float]] = []


def lambda_context(context: Any) -> None:
    """Remember how long the running invocation has left: a token refresh is not started when it cannot finish."""
    _remaining_time[:] = [lambda: context.get_remaining_time_in_millis() / 1000]


def tokens_for(connection: Connection, remaining_seconds: Callable[[], float] | None = None) -> TokenProvider:
    """Tokens for the connection as read: every one handed out names its Fortnox company, and a loss marks this
    connection only, never one that replaced it. The token in use is kept for the process (``token_cache``)."""

    def lost(tenant: TenantId, reason: str) -> None:
        _connection_lost(tenant, reason, connection.generation)

    if connection.service_account:
        return ServiceAccountTokens(
            token_endpoint(),
            connection.fortnox_tenant_id,
            cache=token_cache(),
            margin=token_margin(),
            usable_for=token_lifetime_needed(),
            connected_at=connection.connected_at.timestamp(),
            tenant=connection.tenant_id,
            notify_lost=lost,
        )
    return TenantTokens(
        connection.tenant_id,
        company=connection.fortnox_tenant_id,
        generation=connection.generation,
        cache=token_cache(),
        clock=token_cache().clock,
        margin=token_margin(),
        usable_for=token_lifetime_needed(),
        secrets=secrets_store(),
        locks=LockStore(table()),
        endpoint=token_endpoint(),
        connections=ConnectionStore(table()),
        notify_lost=lost,
        remaining_seconds=remaining_seconds or (_remaining_time[0] if _remaining_time else lambda: float("inf")),
    )


def _connection_lost(tenant: TenantId, reason: str, generation: int) -> None:
    connect_service().mark_needs_reconnect(tenant, reason, generation=generation)


def fortnox_client(connection: Connection, remaining_seconds: Callable[[], float] | None = None) -> "FortnoxClient":
    """A client for one tenant, throttled by the limiter every worker of that tenant shares."""
    # Imported here: the client brings every resource's models (a sixth of a cold start), which the functions that
    # only refresh tokens or read the table never use.
    from fortnox_bridge.fortnox.client import FortnoxClient

    config = fortnox_settings()
    return FortnoxClient(
        base_url=str(config.api_url),
        tokens=tokens_for(connection, remaining_seconds),
        rate_limiter=limiter(connection.fortnox_tenant_id),
        http=http_pool(str(config.api_url)),
        timeout=config.timeout_seconds,
    )


def read_company(access_token: str) -> "CompanyInformation":
    """The first call with a fresh token, before any connection exists; limited under the token's tenant claim."""
    from fortnox_bridge.fortnox.client import FortnoxClient

    config = fortnox_settings()
    claim = fortnox_tenant_claim(access_token)
    with FortnoxClient(
        base_url=str(config.api_url),
        tokens=StaticToken(access_token),
        rate_limiter=limiter(claim if claim is not None else "connect"),
        http=http_pool(str(config.api_url)),
        timeout=config.timeout_seconds,
    ) as client:
        return client.company_information.get()


@once
def signing_keys() -> SigningKeys:
    """The connect signing key's current and previous versions, one cache per process (``SigningKeys``).

    The setting is read at the first use of a key, not here: an exporter builds the connect service only to mark a
    lost connection, never signs, and has no signing key in its environment."""
    return SigningKeys(lambda: read_key_ring(aws.secrets(), settings.load(settings.SigningSettings).signing_key_id))


@once
def connect_service() -> "ConnectService":
    # Imported here: workers need the connect flow only when a tenant's connection is lost (cold-start cost).
    from fortnox_bridge.connect.service import ConnectConfig, ConnectService

    connect = settings.load(settings.ConnectSettings)
    config = fortnox_settings()
    return ConnectService(
        config=ConnectConfig(
            public_base_url=str(connect.public_base_url),
            auth_url=str(config.auth_url),
            client_id=config.client_id,
            link_lifetime=timedelta(days=connect.link_lifetime_days),
        ),
        tenants=TenantStore(table()),
        connections=ConnectionStore(table()),
        links=LinkStore(table()),
        states=ConsentStates(table()),
        locks=LockStore(table()),
        secrets_store=secrets_store(),
        endpoint=token_endpoint(),
        read_company=read_company,
        signing_keys=signing_keys(),
        publisher=publisher(),
    )


# -- status page (issue 10) ------------------------------------------------------------------------------------
def status_links() -> "StatusLinks":
    """Signed links to a tenant's status page, under the connect signing key and the hosted pages' base URL."""
    from fortnox_bridge.status.links import StatusLinkGenerations, StatusLinks

    return StatusLinks(
        tenants=TenantStore(table()),
        generations=StatusLinkGenerations(table()),
        signing_keys=signing_keys(),
        public_base_url=str(settings.load(settings.ConnectSettings).public_base_url),
    )


def status_service() -> "StatusService":
    from fortnox_bridge.status.payments import PaymentSyncOverview
    from fortnox_bridge.status.service import StatusService
    from fortnox_bridge.store.ledger import ExportLedger

    return StatusService(
        tenants=TenantStore(table()),
        connections=ConnectionStore(table()),
        review=export_review(),
        payments=PaymentSyncOverview.on(table()),
        ledger=ExportLedger(table()),
    )


# -- end of status page ----------------------------------------------------------------------------------------


def today() -> "datetime":
    return datetime.now(UTC)


def reset() -> None:
    """Forget cached settings, clients, secrets, tokens and the last invocation's clock (tests change the environment
    between cases, and a finished invocation's remaining time must not stop a later caller's refresh)."""
    token_cache().clear()
    factories = (
        fortnox_settings,
        table,
        window_rule,
        token_endpoint,
        connect_service,
        secrets_provider,
        token_cache,
        tenant_reader,
    )
    for factory in factories:
        factory.cache_clear()
    previous_secrets_provider.cache_clear()
    signing_keys.cache_clear()
    with _pools_guard:
        for pool in _pools.values():
            pool.close()
        _pools.clear()
    _remaining_time.clear()
    aws.reset()


def read_pdf(reference: "S3ObjectRef") -> bytes:
    allowed = settings.load(settings.PdfSettings).pdf_bucket
    if reference.bucket != allowed:
        raise BadInputError(f"PDFs are read from {allowed} only, not {reference.bucket}")
    try:
        body = aws.s3().get_object(Bucket=reference.bucket, Key=reference.key)["Body"].read()
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in {"NoSuchKey", "NoSuchBucket", "AccessDenied", "404", "403"}:
            raise BadInputError(f"no readable PDF at s3://{reference.bucket}/{reference.key} ({code})") from None
        raise
    return bytes(body)


@once
def tenant_reader() -> "TenantReader":
    """One per process: it remembers which company each tenant was last connected to (``store/tenant_reads.py``)."""
    from fortnox_bridge.store.tenant_reads import TenantReader

    return TenantReader(table())


def invoice_exporter() -> "InvoiceExporter":
    from fortnox_bridge.export.customers import CustomerHashes
    from fortnox_bridge.export.exporter import InvoiceExporter
    from fortnox_bridge.store.ledger import ExportLedger
    from fortnox_bridge.store.mappings import MappingStore

    return InvoiceExporter(
        tenants=TenantStore(table()),
        connections=ConnectionStore(table()),
        ledger=ExportLedger(table()),
        hashes=CustomerHashes(table()),
        mappings=MappingStore(table()),
        reader=tenant_reader(),
        publisher=publisher(),
        client_for=fortnox_client,
        read_pdf=read_pdf,
    )


# -- voucher export (issue 10) --------------------------------------------------------------------------------------
def voucher_exporter() -> "VoucherExporter":
    """Imported here, as the invoice exporter is: a function that books no vouchers never loads the voucher code."""
    from fortnox_bridge.store.ledger import ExportLedger
    from fortnox_bridge.store.mappings import MappingStore
    from fortnox_bridge.store.setup_cache import SetupCache
    from fortnox_bridge.vouchers.day_listing import DayListings
    from fortnox_bridge.vouchers.exporter import VoucherExporter, VoucherStores

    return VoucherExporter(
        tenants=TenantStore(table()),
        connections=ConnectionStore(table()),
        stores=VoucherStores(
            ledger=ExportLedger(table()),
            mappings=MappingStore(table()),
            setups=SetupCache(table()),
            days=DayListings(table()),
        ),
        publisher=publisher(),
        client_for=fortnox_client,
    )


# -- end of voucher export ------------------------------------------------------------------------------------------


# -- export review (issue 10) ---------------------------------------------------------------------------------------
def export_review() -> "ExportReview":
    """A tenant's exports as the bookkeeper reviews them: list, retry, mark as exported, SIE (management API and the
    hosted status page)."""
    from fortnox_bridge.export.review import INVOICE_KINDS, VOUCHER_KIND, ExportReview
    from fortnox_bridge.store.ledger import ExportLedger
    from fortnox_bridge.store.mappings import MappingStore
    from fortnox_bridge.store.setup_cache import SetupCache

    def queue_for(kind: str) -> str:
        queues = settings.load(settings.ExportQueueSettings)
        if kind == VOUCHER_KIND:
            return queues.voucher_queue_url
        if kind in INVOICE_KINDS:
            return queues.invoice_queue_url
        raise BadInputError(f"exports of kind {kind} are not sent again")

    def send(queue_url: str, body: str) -> None:
        aws.sqs().send_message(QueueUrl=queue_url, MessageBody=body)

    return ExportReview(
        tenants=TenantStore(table()),
        connections=ConnectionStore(table()),
        ledger=ExportLedger(table()),
        mappings=MappingStore(table()),
        queue_for=queue_for,
        send=send,
        invalidate_setup=SetupCache(table()).invalidate,
        today=lambda: today().date(),
    )


def failure_digest() -> "FailureDigest":
    """The e-mail digest of failed exports, with a week-long status link in each e-mail."""
    from fortnox_bridge.export.digest import FailureDigest, ses_sender
    from fortnox_bridge.store.ledger import ExportLedger, FailureNotes

    def status_link(tenant: TenantId) -> str:
        url, _ = status_links().create(tenant, DIGEST_LINK_LIFETIME)
        return url

    return FailureDigest(
        tenants=TenantStore(table()),
        connections=ConnectionStore(table()),
        ledger=ExportLedger(table()),
        notes=FailureNotes(table()),
        send=ses_sender(aws.ses(), settings.load(settings.DigestSettings).sender),
        status_link=status_link,
    )


DIGEST_LINK_LIFETIME = timedelta(days=7)


# -- end of export review -------------------------------------------------------------------------------------------


# -- payment sync (issue 11) ---------------------------------------------------------------------------------------
def payment_poller() -> "PaymentPoller":
    """One tenant's payment poll: its Fortnox client through the shared limiter, the bus, and the tenant's webhook
    outbox when it has a webhook."""
    from fortnox_bridge.payments.poller import PaymentPoller, PollStores
    from fortnox_bridge.payments.publishing import BusPublisher, TenantPaymentPublisher
    from fortnox_bridge.store.ledger import ExportLedger
    from fortnox_bridge.store.payment_sync import PaymentSyncStore
    from fortnox_bridge.store.tenants import Tenant

    bus = BusPublisher(aws.events(), settings.load(settings.EventSettings).bus_name)

    def publisher_for(tenant: Tenant) -> TenantPaymentPublisher:
        return TenantPaymentPublisher(bus, tenant.tenant_id, tenant.settings.payment_sync.webhook_url, webhook_outbox)

    return PaymentPoller(
        stores=PollStores(
            tenants=TenantStore(table()),
            connections=ConnectionStore(table()),
            sync=PaymentSyncStore(table()),
            ledger=ExportLedger(table()),
        ),
        client_for=fortnox_client,
        publisher_for=publisher_for,
    )


# -- end of payment sync ------------------------------------------------------------------------------------------


# -- webhooks (issue 11) ----------------------------------------------------------------------------------------------
def webhook_outbox() -> "WebhookOutbox":
    """Payment events for a tenant's webhook go on the webhook queue; the delivery worker signs and sends them."""
    from fortnox_bridge.webhooks.outbox import WebhookOutbox

    return WebhookOutbox(aws.sqs(), settings.load(settings.WebhookSettings).webhook_queue_url)


def webhook_deliverer() -> "WebhookDeliverer":
    """Settings are read per call, not per process: the local stack's tests switch ``WEBHOOK_ALLOW_LOOPBACK``."""
    from functools import partial

    from fortnox_bridge.webhooks.deliverer import WebhookDeliverer, WebhookQueues
    from fortnox_bridge.webhooks.destination import check_destination
    from fortnox_bridge.webhooks.posting import post
    from fortnox_bridge.webhooks.secrets import PREVIOUS_STAGE, SECRET_CACHE_SECONDS, SecretReader

    webhooks = settings.load(settings.WebhookSettings)
    return WebhookDeliverer(
        tenants=TenantStore(table()),
        secrets=SecretReader(
            current=lambda name: str(secrets_provider().get(name, max_age=SECRET_CACHE_SECONDS)),
            previous=lambda name: str(
                previous_secrets_provider().get(name, max_age=SECRET_CACHE_SECONDS, VersionStage=PREVIOUS_STAGE)
            ),
        ),
        queues=WebhookQueues(
            sqs=aws.sqs(),
            work_url=webhooks.webhook_queue_url,
            dead_letter_url=webhooks.webhook_dead_letter_url,
            max_attempts=settings.load(settings.QueueSettings).max_receive_count,
        ),
        check=partial(
            check_destination, allow_loopback=settings.load(settings.WebhookDestinationSettings).allow_loopback
        ),
        post=post,
        clock=today,
    )


@once
def previous_secrets_provider() -> parameters.SecretsProvider:
    """Powertools keys its cache by name alone: a secret's previous version (a webhook secret in its rotation grace)
    is read through a provider of its own, or it would be served the current one."""
    return parameters.SecretsProvider(boto3_client=aws.secrets())


def webhook_secret_issuer() -> "WebhookSecretIssuer":
    from fortnox_bridge.webhooks.secrets import WebhookSecretIssuer

    return WebhookSecretIssuer(aws.secrets(), kms_key_id=settings.secret_names().tenant_secrets_key_id)


# -- end of webhooks --------------------------------------------------------------------------------------------------


# -- payment schedule (issue 11) ------------------------------------------------------------------------------------
def payment_fan_out() -> "PaymentFanOut":
    """The payment schedule's tick: due tenants from the table, one poll job each on the payment poll queue."""
    from fortnox_bridge.schedule.fan_out import PaymentFanOut
    from fortnox_bridge.schedule.poll_queue import PollQueue
    from fortnox_bridge.store.payment_schedule import PaymentSchedule

    return PaymentFanOut(
        schedule=PaymentSchedule(table()),
        connections=ConnectionStore(table()),
        locks=LockStore(table()),
        queue=PollQueue(aws.sqs(), settings.load(settings.PaymentPollSettings).poll_queue_url),
    )


# -- end of payment schedule ----------------------------------------------------------------------------------------


# -- signing key rotation (issue 12) --------------------------------------------------------------------------------
def signing_key_rotation() -> "SigningKeyRotation":
    from fortnox_bridge.connect.key_rotation import SigningKeyRotation

    return SigningKeyRotation(aws.secrets(), settings.load(settings.SigningSettings).signing_key_id)


# -- end of signing key rotation ------------------------------------------------------------------------------------
