"""The connect flow and the connection lifecycle, behind the management API and the hosted pages."""

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from pydantic import BaseModel

from fortnox_bridge.connect import consent_state
from fortnox_bridge.connect.consent_state import StateRefused
from fortnox_bridge.connect.scopes import scopes_for
from fortnox_bridge.errors import BadInputError, NeedsTenantActionError
from fortnox_bridge.events import ConnectionConnected, ConnectionNeedsReconnect, ConnectionRevoked, EventPublisher
from fortnox_bridge.fortnox.errors import FortnoxError
from fortnox_bridge.fortnox.models.registers import CompanyInformation
from fortnox_bridge.fortnox.oauth import TokenEndpoint
from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.observability import logger
from fortnox_bridge.store.connections import CompanyAlreadyBound, Connection, ConnectionState, ConnectionStore
from fortnox_bridge.store.links import ConnectLink, ConsentStates, LinkStore, token_hash
from fortnox_bridge.store.tenants import TenantStore
from fortnox_bridge.tokens.secret_store import SecretTokenStore, StoredTokens

DEFAULT_LINK_LIFETIME = timedelta(days=7)


class LinkRefused(BadInputError):
    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class ConsentDenied(BadInputError):
    """The person declined at Fortnox."""


class CompanyTaken(NeedsTenantActionError):
    def __init__(self, company: str) -> None:
        super().__init__(f"Fortnox company {company} is connected to another tenant")
        self.company = company


class FortnoxRefusedConnect(NeedsTenantActionError):
    """Fortnox refused the code exchange or the first read."""


class NotConnected(BadInputError):
    """The tenant has no connection to act on."""


@dataclass(frozen=True)
class ConnectConfig:
    public_base_url: str
    auth_url: str
    client_id: str
    link_lifetime: timedelta = DEFAULT_LINK_LIFETIME

    @property
    def redirect_uri(self) -> str:
        return f"{self.public_base_url.rstrip('/')}/oauth/callback"


@dataclass(frozen=True)
class Landing:
    tenant_name: str
    scopes: list[str]
    service_account: bool
    authorize_url: str
    language: str


@dataclass(frozen=True)
class Connected:
    tenant_name: str
    company_name: str
    organisation_number: str | None
    language: str


class TenantStatus(BaseModel):
    tenant_id: TenantId
    display_name: str
    state: str
    company_name: str | None = None
    organisation_number: str | None = None
    fortnox_tenant_id: int | None = None
    service_account: bool | None = None
    scopes: list[str] = []
    connected_at: datetime | None = None
    last_refresh_at: datetime | None = None
    refresh_token_expires_at: datetime | None = None
    reason: str | None = None


CompanyReader = Callable[[str], CompanyInformation]
"""Reads company information with a fresh access token (rate-limited like every Fortnox call)."""


class ConnectService:
    def __init__(
        self,
        *,
        config: ConnectConfig,
        tenants: TenantStore,
        connections: ConnectionStore,
        links: LinkStore,
        states: ConsentStates,
        secrets_store: SecretTokenStore,
        endpoint: TokenEndpoint,
        read_company: CompanyReader,
        signing_key: Callable[[], bytes],
        publisher: EventPublisher,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._tenants = tenants
        self._connections = connections
        self._links = links
        self._states = states
        self._secrets = secrets_store
        self._endpoint = endpoint
        self._read_company = read_company
        self._signing_key = signing_key
        self._publisher = publisher
        self._clock = clock

    # -- links -----------------------------------------------------------------------------------------------
    def create_link(
        self, tenant_id: TenantId, *, service_account: bool | None = None, lifetime: timedelta | None = None
    ) -> tuple[str, datetime]:
        tenant = self._tenants.require(tenant_id)
        token = secrets.token_urlsafe(32)
        valid_until = datetime.fromtimestamp(self._clock(), UTC) + (lifetime or self._config.link_lifetime)
        self._links.create(
            token,
            ConnectLink(
                tenant_id=tenant_id,
                scopes=scopes_for(tenant.settings.features),
                service_account=tenant.settings.service_account if service_account is None else service_account,
                valid_until=valid_until,
            ),
        )
        return f"{self._config.public_base_url.rstrip('/')}/connect/{token}", valid_until

    def landing(self, link_token: str) -> Landing:
        hashed = token_hash(link_token)
        link = self._usable_link(hashed)
        tenant = self._tenants.require(link.tenant_id)
        state, _ = consent_state.issue(link.tenant_id, hashed, self._signing_key(), self._clock())
        extra = {"access_type": "offline"}
        if link.service_account:
            extra["account_type"] = "service"
        url = prepare_grant_uri(
            f"{self._config.auth_url.rstrip('/')}/oauth-v1/auth",
            self._config.client_id,
            "code",
            redirect_uri=self._config.redirect_uri,
            scope=" ".join(link.scopes),
            state=state,
            **extra,
        )
        return Landing(tenant.display_name, link.scopes, link.service_account, url, tenant.settings.language)

    def _usable_link(self, hashed: str) -> ConnectLink:
        link = self._links.get_by_hash(hashed)
        if link is None:
            raise LinkRefused("no such connect link", "unknown")
        if link.consumed_at is not None:
            raise LinkRefused("the connect link was already used", "used")
        if link.valid_until.timestamp() < self._clock():
            raise LinkRefused("the connect link has expired", "expired")
        return link

    # -- the callback ----------------------------------------------------------------------------------------
    def complete(self, *, state: str | None, code: str | None, error: str | None) -> Connected:
        if not state:
            raise StateRefused("the callback carries no state", "forged")
        verified = consent_state.verify(state, self._signing_key(), self._clock())
        if not self._states.use(verified.nonce, expires_epoch=verified.expires_at):
            raise StateRefused("this consent was already completed once", "replayed")
        link = self._links.get_by_hash(verified.link_hash)
        if link is None or link.tenant_id != verified.tenant_id:
            raise StateRefused("the state belongs to another tenant's link", "cross_tenant")
        link = self._usable_link(verified.link_hash)
        tenant = self._tenants.require(link.tenant_id)
        if error is not None or not code:
            raise ConsentDenied(f"consent was not given at Fortnox ({error or 'no code'})")
        try:
            tokens = self._endpoint.exchange_code(code, redirect_uri=self._config.redirect_uri)
            company = self._read_company(tokens.access_token.get_secret_value())
        except FortnoxError as failure:
            raise FortnoxRefusedConnect(str(failure)) from None
        company_id = FortnoxTenantId(int(company.DatabaseNumber or 0))
        holder = self._connections.bound_tenant(company_id)
        if holder not in (None, tenant.tenant_id) and not tenant.settings.allow_shared_fortnox_company:
            raise CompanyTaken(company.CompanyName or str(company_id))
        if not self._links.consume(verified.link_hash):
            raise LinkRefused("the connect link was already used", "used")
        previous = self._connections.get(tenant.tenant_id)
        previous_tokens = self._secrets.read(tenant.tenant_id)
        if link.service_account:
            self._secrets.delete(tenant.tenant_id)
        else:
            self._secrets.write(tenant.tenant_id, StoredTokens.from_token_set(tokens))
        connection = Connection(
            tenant_id=tenant.tenant_id,
            fortnox_tenant_id=company_id,
            company_name=company.CompanyName or "",
            organisation_number=company.OrganizationNumber,
            service_account=link.service_account,
            scopes=sorted(tokens.scopes),
            connected_at=datetime.fromtimestamp(self._clock(), UTC),
        )
        try:
            self._connections.bind(
                connection,
                allow_shared=tenant.settings.allow_shared_fortnox_company,
                previous=previous.fortnox_tenant_id if previous else None,
            )
        except CompanyAlreadyBound:
            # Another tenant took the company between our check and our write: the old connection stays whole.
            self._restore(tenant.tenant_id, previous_tokens)
            raise CompanyTaken(connection.company_name) from None
        if previous_tokens is not None and previous is not None and not previous.service_account:
            self._revoke(tenant.tenant_id, previous_tokens)
        self._publisher.publish(
            ConnectionConnected(
                tenant_id=tenant.tenant_id, fortnox_tenant_id=company_id, company_name=connection.company_name
            )
        )
        logger.info("tenant connected", extra={"tenant_id": tenant.tenant_id, "fortnox_tenant_id": company_id})
        return Connected(
            tenant.display_name, connection.company_name, connection.organisation_number, tenant.settings.language
        )

    def _restore(self, tenant: TenantId, tokens: StoredTokens | None) -> None:
        if tokens is None:
            self._secrets.delete(tenant)
        else:
            self._secrets.write(tenant, tokens)

    def _revoke(self, tenant: TenantId, replaced: StoredTokens) -> None:
        """Revoke the refresh token of the connection just replaced. Best effort: a failure is logged, the new
        connection stands."""
        if replaced.refresh_token is None:
            return
        try:
            self._endpoint.revoke(replaced.refresh_token.get_secret_value())
        except FortnoxError as failure:
            logger.warning(
                "could not revoke the replaced refresh token", extra={"tenant_id": tenant, "status": failure.status}
            )

    # -- lifecycle -------------------------------------------------------------------------------------------
    def status(self, tenant_id: TenantId) -> TenantStatus:
        tenant = self._tenants.require(tenant_id)
        connection = self._connections.get(tenant_id)
        if connection is None:
            return TenantStatus(tenant_id=tenant_id, display_name=tenant.display_name, state="not_connected")
        return TenantStatus(
            tenant_id=tenant_id,
            display_name=tenant.display_name,
            state=connection.state.value,
            company_name=connection.company_name,
            organisation_number=connection.organisation_number,
            fortnox_tenant_id=connection.fortnox_tenant_id,
            service_account=connection.service_account,
            scopes=connection.scopes,
            connected_at=connection.connected_at,
            last_refresh_at=connection.last_refresh_at,
            refresh_token_expires_at=connection.refresh_token_expires_at,
            reason=connection.reason,
        )

    def disconnect(self, tenant_id: TenantId) -> TenantStatus:
        self._tenants.require(tenant_id)
        connection = self._connections.get(tenant_id)
        if connection is None or connection.state is ConnectionState.REVOKED:
            raise NotConnected(f"tenant {tenant_id} is not connected")
        stored = self._secrets.read(tenant_id)
        if stored is not None and stored.refresh_token is not None:
            self._endpoint.revoke(stored.refresh_token.get_secret_value())
        self._secrets.delete(tenant_id)
        self._connections.mark(tenant_id, ConnectionState.REVOKED, "disconnected on request")
        self._connections.release(connection)
        self._publisher.publish(ConnectionRevoked(tenant_id=tenant_id, fortnox_tenant_id=connection.fortnox_tenant_id))
        return self.status(tenant_id)

    def mark_needs_reconnect(self, tenant_id: TenantId, reason: str) -> None:
        """The connection is lost: say so on the tenant and upstream, with a fresh link to fix it."""
        self._connections.mark(tenant_id, ConnectionState.NEEDS_RECONNECT, reason)
        url, valid_until = self.create_link(tenant_id)
        self._publisher.publish(
            ConnectionNeedsReconnect(
                tenant_id=tenant_id, reason=reason, connect_url=url, connect_url_valid_until=valid_until
            )
        )
        logger.warning("tenant needs to reconnect", extra={"tenant_id": tenant_id, "reason": reason})
