"""The connect flow and the connection lifecycle, behind the management API and the hosted pages."""

import math
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from pydantic import BaseModel

from fortnox_bridge.connect import consent_state
from fortnox_bridge.connect.consent_state import ConsentState, StateRefused
from fortnox_bridge.connect.endings import REMOVE_IN_FORTNOX, REVOKE_UNCONFIRMED, UNCONFIRMED_REASON
from fortnox_bridge.connect.scopes import scopes_for
from fortnox_bridge.connect.signing_keys import SigningKeys
from fortnox_bridge.errors import BadInputError, NeedsTenantActionError, RetryableError
from fortnox_bridge.events import ConnectionConnected, ConnectionNeedsReconnect, ConnectionRevoked, EventPublisher
from fortnox_bridge.fortnox.errors import FortnoxError, FortnoxInvalidGrant
from fortnox_bridge.fortnox.models.registers import CompanyInformation
from fortnox_bridge.fortnox.oauth import TokenEndpoint, TokenSet, fortnox_tenant_claim
from fortnox_bridge.fortnox.retry import IN_DOUBT
from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.observability import count, logger
from fortnox_bridge.store.connections import (
    CompanyAlreadyBound,
    Connection,
    ConnectionState,
    ConnectionStore,
    LinkSuperseded,
    LinkUsed,
)
from fortnox_bridge.store.links import (
    DENIED,
    FAILED,
    ConnectLink,
    ConsentStates,
    LinkGate,
    LinkStore,
    SpentState,
    token_hash,
)
from fortnox_bridge.store.locks import LockStore
from fortnox_bridge.store.tenants import Feature, Tenant, TenantStore
from fortnox_bridge.tokens.secret_store import SecretTokenStore, StoredTokens
from fortnox_bridge.tokens.tenant_tokens import lease_seconds, refresh_lock_name, refresh_seconds

DEFAULT_LINK_LIFETIME = timedelta(days=7)
COMPLETION_LEASE_SECONDS = 30.0
COMPLETION_WAIT_SECONDS = 10.0
"""How long a callback waits for another callback of the same tenant before asking the person to try again, and a
disconnect for a refresh of the tenant's tokens before asking the caller to."""
AFTER_REVOKE_SECONDS = 5.0
"""Kept for what a disconnect does after its revoke (mark, forget the tokens, end the links, tell upstream, release
the company, answer): a handful of DynamoDB, Secrets Manager and EventBridge calls."""
CALLBACK_SECONDS = 30.0
"""The longest a callback can still be at work: no invocation of the hosted function outlives its 29 s timeout."""
ENDED = (ConnectionState.REVOKED, ConnectionState.DISCONNECTED)


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


class AlreadyConnected(NeedsTenantActionError):
    """The tenant is connected; only a link made to replace the connection may change it."""


class CompletionBusy(RetryableError):
    """Another callback of the same tenant is being completed; the person opens the link again."""


class DisconnectBusy(RetryableError):
    """A refresh of the tenant's tokens did not finish in time, or too little time was left to ask Fortnox: the
    disconnect changed nothing and may be sent again."""


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
class CurrentCompany:
    name: str
    organisation_number: str | None


@dataclass(frozen=True)
class Landing:
    tenant_name: str
    features: list[Feature]
    scopes: list[str]
    service_account: bool
    authorize_url: str | None
    """None until the person confirmed replacing ``replaces``."""
    language: str
    replaces: CurrentCompany | None = None


@dataclass(frozen=True)
class Connected:
    tenant_name: str
    company_name: str
    organisation_number: str | None
    language: str


@dataclass(frozen=True)
class NewLink:
    url: str
    link_id: str
    """The hash of the link's token: names the link for revoking it, opens nothing."""
    valid_until: datetime


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


class TenantAction(BaseModel):
    sv: str
    en: str


class Disconnected(TenantStatus):
    """What a disconnect did, and what is left for the tenant to do in Fortnox."""

    revoked_at_fortnox: bool
    """True when Fortnox no longer honours the connection's refresh token."""
    tenant_action: TenantAction | None = None


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
        locks: LockStore,
        secrets_store: SecretTokenStore,
        endpoint: TokenEndpoint,
        read_company: CompanyReader,
        signing_keys: SigningKeys,
        publisher: EventPublisher,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._config = config
        self._tenants = tenants
        self._connections = connections
        self._links = links
        self._states = states
        self._locks = locks
        self._secrets = secrets_store
        self._endpoint = endpoint
        self._read_company = read_company
        self._signing_keys = signing_keys
        self._publisher = publisher
        self._clock = clock
        self._sleep = sleep

    # -- links -----------------------------------------------------------------------------------------------
    def create_link(
        self,
        tenant_id: TenantId,
        *,
        service_account: bool | None = None,
        lifetime: timedelta | None = None,
        replace_connection: bool = False,
    ) -> NewLink:
        tenant = self._tenants.require(tenant_id)
        live = self._live(tenant_id)
        if live is not None and not replace_connection:
            raise AlreadyConnected(
                f"tenant {tenant_id} is connected to Fortnox company {live.company_name}; a link that replaces "
                "the connection must be asked for with replace_connection"
            )
        token = secrets.token_urlsafe(32)
        valid_until = datetime.fromtimestamp(self._clock(), UTC) + (lifetime or self._config.link_lifetime)
        self._links.create(
            token,
            ConnectLink(
                tenant_id=tenant_id,
                scopes=scopes_for(tenant.settings.features),
                service_account=tenant.settings.service_account if service_account is None else service_account,
                valid_until=valid_until,
                generation=self._links.generation(tenant_id),
                replace_connection=replace_connection,
            ),
        )
        url = f"{self._config.public_base_url.rstrip('/')}/connect/{token}"
        return NewLink(url=url, link_id=token_hash(token), valid_until=valid_until)

    def revoke_links(self, tenant_id: TenantId, link_id: str | None = None) -> None:
        """Every unused link of the tenant stops working, or only ``link_id``."""
        self._tenants.require(tenant_id)
        if link_id is None:
            self._links.revoke_all(tenant_id)
        elif not self._links.revoke(link_id, tenant_id):
            raise LinkRefused(f"tenant {tenant_id} has no unused link {link_id}", "unknown")
        logger.info("connect links revoked", extra={"tenant_id": tenant_id, "all": link_id is None})

    def landing(self, link_token: str, *, confirmed: bool = False) -> Landing:
        hashed = token_hash(link_token)
        link = self._usable_link(hashed)
        tenant = self._tenants.require(link.tenant_id)
        live = self._live(link.tenant_id)
        if live is not None and not link.replace_connection:
            raise LinkRefused("the tenant is connected and this link was not made to replace it", "connected")
        replaces = CurrentCompany(live.company_name, live.organisation_number) if live is not None else None
        url = None
        if live is None or confirmed:
            url = self._authorize_url(link, hashed, live.fortnox_tenant_id if live is not None else None)
        return Landing(
            tenant.display_name,
            tenant.settings.features,
            link.scopes,
            link.service_account,
            url,
            tenant.settings.language,
            replaces,
        )

    def _authorize_url(self, link: ConnectLink, hashed: str, replaces: FortnoxTenantId | None) -> str:
        state, _ = consent_state.issue(
            link.tenant_id, hashed, self._signing_keys.current(), self._clock(), replaces=replaces
        )
        extra = {"access_type": "offline"}
        if link.service_account:
            extra["account_type"] = "service"
        url: str = prepare_grant_uri(
            f"{self._config.auth_url.rstrip('/')}/oauth-v1/auth",
            self._config.client_id,
            "code",
            redirect_uri=self._config.redirect_uri,
            scope=" ".join(link.scopes),
            state=state,
            **extra,
        )
        return url

    def _live(self, tenant_id: TenantId) -> Connection | None:
        connection = self._connections.get(tenant_id)
        return connection if connection is not None and connection.state is ConnectionState.CONNECTED else None

    def _spent(self, verified: ConsentState, spent: SpentState) -> BadInputError:
        """The answer to a callback whose state an earlier arrival spent (a reload, a replay). "Completed" only if
        that one connected the link; "in progress" while it may still be at work; a cancellation or another
        tenant's link as the first time; otherwise it failed (Fortnox answered 500, the company was taken), and its
        page invited a reload that must not say nothing is left."""
        link = self._links.get_by_hash(verified.link_hash)
        if link is None or link.tenant_id != verified.tenant_id:
            return StateRefused("the state belongs to another tenant's link", "cross_tenant")
        if link.consumed_at is not None:
            return StateRefused("this consent was already completed once", "replayed")
        if spent.outcome == DENIED:
            return ConsentDenied("consent was not given at Fortnox (the page was reloaded)")
        if spent.outcome is None and self._clock() - spent.first_arrival < CALLBACK_SECONDS:
            return StateRefused("an earlier arrival of this consent is still being completed", "in_progress")
        return StateRefused("this consent was already sent once and did not connect", "approval_used")

    def _note_failed(self, verified: ConsentState, failure: BaseException) -> None:
        """Best effort: without the note, a reload says "in progress" until the first arrival's time is up."""
        try:
            self._states.failed(verified.nonce, DENIED if isinstance(failure, ConsentDenied) else FAILED)
        except Exception:
            logger.warning("could not note a failed callback", extra={"tenant_id": verified.tenant_id})

    def _usable_link(self, hashed: str) -> ConnectLink:
        link = self._links.get_by_hash(hashed)
        if link is None:
            raise LinkRefused("no such connect link", "unknown")
        if link.consumed_at is not None:
            raise LinkRefused("the connect link was already used", "used")
        if link.revoked_at is not None or link.generation != self._links.generation(link.tenant_id):
            raise LinkRefused("the connect link was revoked or a newer connect replaced it", "superseded")
        if link.valid_until.timestamp() < self._clock():
            raise LinkRefused("the connect link has expired", "expired")
        return link

    # -- the callback ----------------------------------------------------------------------------------------
    def complete(self, *, state: str | None, code: str | None, error: str | None) -> Connected:
        if not state:
            raise StateRefused("the callback carries no state", "forged")
        verified = consent_state.verify(state, self._signing_keys, self._clock())
        spent = self._states.use(verified.nonce, expires_epoch=verified.expires_at, now=self._clock())
        if spent is not None:
            raise self._spent(verified, spent)
        try:
            return self._complete(verified, code, error)
        except BaseException as failure:
            self._note_failed(verified, failure)
            raise

    def _complete(self, verified: ConsentState, code: str | None, error: str | None) -> Connected:
        link = self._links.get_by_hash(verified.link_hash)
        if link is None or link.tenant_id != verified.tenant_id:
            raise StateRefused("the state belongs to another tenant's link", "cross_tenant")
        link = self._usable_link(verified.link_hash)
        tenant = self._tenants.require(link.tenant_id)
        self._check_replacement(link, verified)
        if error is not None or not code:
            raise ConsentDenied(f"consent was not given at Fortnox ({error or 'no code'})")
        try:
            tokens = self._endpoint.exchange_code(code, redirect_uri=self._config.redirect_uri)
        except FortnoxError as failure:
            raise FortnoxRefusedConnect(str(failure)) from None
        # From here on Fortnox holds a live grant for what we got: whatever refuses or loses this callback gives
        # it back, so no refresh token lives on that nobody holds.
        kept = False
        replaced: StoredTokens | None = None
        try:
            connection = self._connection_for(tenant, link, tokens)
            owner = f"connect-{uuid.uuid4()}"
            self._lock(tenant.tenant_id, owner)
            try:
                replaced = self._write(tenant, link, verified, tokens, connection)
                kept = not link.service_account
                self._tell_connected(connection)
            finally:
                self._locks.release(self._lock_name(tenant.tenant_id), owner=owner)
        finally:
            if not kept:
                self._give_back(tenant.tenant_id, tokens)
            # The replaced grant goes back even when telling upstream failed: nobody holds it any more.
            if replaced is not None and replaced.refresh_token is not None:
                self._revoke(tenant.tenant_id, replaced.refresh_token.get_secret_value(), "replaced")
        logger.info(
            "tenant connected",
            extra={"tenant_id": tenant.tenant_id, "fortnox_tenant_id": connection.fortnox_tenant_id},
        )
        return Connected(
            tenant.display_name, connection.company_name, connection.organisation_number, tenant.settings.language
        )

    def _tell_connected(self, connection: Connection) -> None:
        """Told under the completion lock: a disconnect waits for it, so its connection.revoked comes after this
        and is upstream's last word. The connection is made whatever the bus says: a refused publish is logged as
        an error and counted (``ConnectedNotTold``), the person is shown the company connected (the truth), and
        upstream reads the state with ``GET /tenants/{id}``."""
        try:
            self._publisher.publish(
                ConnectionConnected(
                    tenant_id=connection.tenant_id,
                    fortnox_tenant_id=connection.fortnox_tenant_id,
                    company_name=connection.company_name,
                )
            )
        except Exception:
            logger.exception("connection.connected was not published", extra={"tenant_id": connection.tenant_id})
            count("ConnectedNotTold")

    def _check_replacement(self, link: ConnectLink, verified: ConsentState) -> None:
        live = self._live(link.tenant_id)
        if live is None:
            return
        if not link.replace_connection or verified.replaces != live.fortnox_tenant_id:
            raise LinkRefused("the tenant is connected and this consent did not confirm replacing it", "connected")

    def _connection_for(self, tenant: Tenant, link: ConnectLink, tokens: TokenSet) -> Connection:
        try:
            company = self._read_company(tokens.access_token.get_secret_value())
        except FortnoxError as failure:
            raise FortnoxRefusedConnect(str(failure)) from None
        company_id = FortnoxTenantId(int(company.DatabaseNumber or 0))
        if fortnox_tenant_claim(tokens.access_token.get_secret_value()) not in (None, company_id):
            raise FortnoxRefusedConnect("the token's tenant is not the company Fortnox reported")
        holder = self._connections.bound_tenant(company_id)
        if holder not in (None, tenant.tenant_id) and not tenant.settings.allow_shared_fortnox_company:
            raise CompanyTaken(company.CompanyName or str(company_id))
        return Connection(
            tenant_id=tenant.tenant_id,
            fortnox_tenant_id=company_id,
            company_name=company.CompanyName or "",
            organisation_number=company.OrganizationNumber,
            service_account=link.service_account,
            scopes=sorted(tokens.scopes),
            connected_at=datetime.fromtimestamp(self._clock(), UTC),
            generation=link.generation + 1,
        )

    def _write(
        self, tenant: Tenant, link: ConnectLink, verified: ConsentState, tokens: TokenSet, connection: Connection
    ) -> StoredTokens | None:
        """Under the tenant's completion lock: the tokens, then the connection gated on the link's generation, then
        a re-read proving both name the same company. Returns the tokens the connection replaced."""
        tenant_id = tenant.tenant_id
        if self._links.generation(tenant_id) != link.generation:
            raise LinkRefused("another connect of this tenant completed first", "superseded")
        self._check_replacement(link, verified)
        previous = self._connections.get(tenant_id)
        previous_tokens = self._secrets.read(tenant_id)
        # The tokens go first: a crash before the connection is written leaves the link unused, and opening it
        # again repairs the secret; the other order would leave a connection whose secret names another company.
        if not link.service_account:
            self._secrets.write(tenant_id, StoredTokens.from_token_set(tokens))
        try:
            self._connections.bind(
                connection,
                allow_shared=tenant.settings.allow_shared_fortnox_company,
                previous=previous.fortnox_tenant_id if previous else None,
                gate=LinkGate(verified.link_hash, tenant_id, link.generation),
            )
        except Exception as failure:
            if not isinstance(failure, (CompanyAlreadyBound, LinkUsed, LinkSuperseded)) and self._is_current(
                connection
            ):
                logger.warning("the connection was written though its write failed", extra={"tenant_id": tenant_id})
            else:
                # The old connection stays whole, and so do the tokens it works with.
                self._restore(tenant_id, previous_tokens)
                if isinstance(failure, CompanyAlreadyBound):
                    raise CompanyTaken(connection.company_name) from None
                if isinstance(failure, LinkUsed):
                    raise LinkRefused(failure.message, "used") from None
                if isinstance(failure, LinkSuperseded):
                    raise LinkRefused(failure.message, "superseded") from None
                raise
        if link.service_account:
            self._secrets.delete(tenant_id)
        self._verify(connection)
        if previous is None or previous.service_account:
            return None
        return previous_tokens

    def _is_current(self, connection: Connection) -> bool:
        stored = self._connections.get(connection.tenant_id)
        return (
            stored is not None
            and stored.generation == connection.generation
            and stored.fortnox_tenant_id == connection.fortnox_tenant_id
        )

    def _verify(self, connection: Connection) -> None:
        """Read back what was written: the connection is ours and the secret holds tokens of its company."""
        stored = self._secrets.read(connection.tenant_id)
        secret_company = fortnox_tenant_claim(stored.access_token.get_secret_value()) if stored else None
        matches = self._is_current(connection) and (
            stored is None if connection.service_account else secret_company == connection.fortnox_tenant_id
        )
        if not matches:
            self.mark_needs_reconnect(
                connection.tenant_id,
                "the stored tokens do not belong to the connected company; connect again",
                generation=connection.generation,
            )
            raise LinkRefused("the connection changed while it was being completed", "superseded")

    def _lock(self, tenant_id: TenantId, owner: str) -> None:
        busy = CompletionBusy(f"another connect of tenant {tenant_id} is being completed")
        self._take(self._lock_name(tenant_id), owner, COMPLETION_LEASE_SECONDS, busy)

    def _take(self, name: str, owner: str, lease: float, busy: RetryableError) -> None:
        deadline = self._clock() + COMPLETION_WAIT_SECONDS
        while not self._locks.acquire(name, owner=owner, lease_seconds=lease):
            if self._clock() >= deadline:
                raise busy
            self._sleep(0.1)

    @staticmethod
    def _lock_name(tenant_id: TenantId) -> str:
        return f"connect#{tenant_id}"

    def _restore(self, tenant: TenantId, tokens: StoredTokens | None) -> None:
        if tokens is None:
            self._secrets.delete(tenant)
        else:
            self._secrets.write(tenant, tokens)

    def _give_back(self, tenant: TenantId, tokens: TokenSet) -> None:
        if tokens.refresh_token is not None:
            self._revoke(tenant, tokens.refresh_token.get_secret_value(), "not kept")

    def _revoke(self, tenant: TenantId, refresh_token: str, why: str) -> None:
        """Best effort: a failure is logged; the refresh token then dies unused within Fortnox's 45 days."""
        try:
            self._endpoint.revoke(refresh_token)
        except FortnoxError as failure:
            logger.warning(
                "could not revoke a refresh token",
                extra={"tenant_id": tenant, "why": why, "status": failure.status},
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

    def disconnect(self, tenant_id: TenantId, *, within: float = math.inf) -> Disconnected:
        """End the connection under the tenant's completion lock, so a connect completing at the same moment either
        lands before (and is the one disconnected) or after (and stands); the two never mix.

        ``within``: the seconds the caller has to answer (the management API's invocation). Waits for the locks
        and Fortnox's answers come out of it, so the disconnect answers in time rather than being cut off between
        a revoke and its mark, which would leave a dead grant shown as connected."""
        deadline = self._clock() + within - AFTER_REVOKE_SECONDS
        self._tenants.require(tenant_id)
        owner = f"disconnect-{uuid.uuid4()}"
        self._lock(tenant_id, owner)
        try:
            connection, revoked = self._end_connection(tenant_id, owner, deadline)
        finally:
            self._locks.release(self._lock_name(tenant_id), owner=owner)
        # A service account has no refresh token to revoke: its consent lives at Fortnox until the tenant ends it.
        action = None if revoked else REMOVE_IN_FORTNOX if connection.service_account else REVOKE_UNCONFIRMED
        return Disconnected(
            **self.status(tenant_id).model_dump(),
            revoked_at_fortnox=revoked,
            tenant_action=None if action is None else TenantAction(sv=action[0], en=action[1]),
        )

    def _end_connection(self, tenant_id: TenantId, owner: str, deadline: float) -> tuple[Connection, bool]:
        """Revoke at Fortnox, mark, forget the tokens, end the links, tell upstream, release the company, in this
        order (docs/decisions.md, "A disconnect ends the grant before it says so"): whichever step fails, a tenant
        shown as disconnected holds no live refresh token, and the disconnect sent again carries on to the end.
        The connection ended, and whether Fortnox is known to no longer honour its refresh token."""
        connection = self._connections.get(tenant_id)
        if connection is None or (connection.state in ENDED and not self._left_behind(connection)):
            raise NotConnected(f"tenant {tenant_id} is not connected")
        state, reason = (
            (ConnectionState.DISCONNECTED, f"disconnected on request; {REMOVE_IN_FORTNOX[1]}")
            if connection.service_account
            else (ConnectionState.REVOKED, "disconnected on request")
        )
        # Under the tenant's refresh lease no refresh runs: none rotates the token read here into one this disconnect
        # never sees, and none meets the revoked token and reports the connection lost. A refresh waiting for the
        # lease finds the connection ended once it gets it.
        busy = DisconnectBusy(f"the tokens of tenant {tenant_id} are being refreshed; nothing was changed")
        self._take(refresh_lock_name(tenant_id), owner, lease_seconds(self._endpoint), busy)
        # The revokes end while the lease still holds, leaving it the margin for the mark and the delete.
        deadline = min(deadline, self._clock() + refresh_seconds(self._endpoint))
        try:
            stored = self._secrets.read(tenant_id)
            # Marked ended already: a disconnect that stopped half-way got past its revoke, and its mark says
            # whether Fortnox confirmed it.
            marked = connection.state is state
            confirmed = not connection.service_account and connection.reason != UNCONFIRMED_REASON
            if stored is not None and stored.refresh_token is not None and not (marked and confirmed):
                revoked = self._revoke_or_keep_mark(
                    tenant_id, stored.refresh_token.get_secret_value(), deadline, marked=marked
                )
            else:
                # Confirmed already (asking again could only unsay it), or no token left to ask about.
                revoked = confirmed
            if not revoked and not connection.service_account:
                reason = UNCONFIRMED_REASON
            # Marked once Fortnox no longer honours the token (or did not answer twice), and before the tokens go:
            # the tokens are never gone from a tenant that is still shown connected. A connection already ended is
            # marked anew, so that a disconnect sent again redoes what the mark does.
            self._connections.mark(
                tenant_id,
                state,
                reason,
                only_from=(ConnectionState.CONNECTED, ConnectionState.NEEDS_RECONNECT, state),
                generation=connection.generation,
            )
            self._secrets.delete(tenant_id)
        finally:
            self._locks.release(refresh_lock_name(tenant_id), owner=owner)
        # An unused link made to replace this connection must not reconnect it without a new confirmation.
        self._links.revoke_all(tenant_id)
        self._publisher.publish(
            ConnectionRevoked(
                tenant_id=tenant_id,
                fortnox_tenant_id=connection.fortnox_tenant_id,
                revoked_at_fortnox=revoked,
            )
        )
        # Last: the binding still held is how a disconnect sent again knows that this one stopped before the end.
        self._connections.release(connection)
        return connection, revoked

    def _revoke_to_disconnect(self, tenant_id: TenantId, refresh_token: str, deadline: float) -> bool:
        """Revoke the refresh token at Fortnox: True when Fortnox is known to no longer honour it, False when its
        answer was in doubt twice. Refused before anything could change (the client refused, a 429, no time left for
        a whole attempt), it raises and the disconnect stops with nothing changed.

        An answer in doubt (lost, or a 5xx, which Fortnox may send after it revoked) may come after Fortnox revoked:
        from then on stopping would show a dead grant as connected (the next refresh counts it lost and tells
        upstream to reconnect), so the disconnect no longer stops. It asks once more if a whole attempt fits before
        ``deadline`` (revoking is idempotent, and a token the first request killed is refused as invalid), and with
        no answer again, or no time to ask, it ends the connection anyway: the tokens are forgotten here, so nobody
        uses a grant Fortnox may still honour, and the tenant is told how to end it there."""
        if not self._fits(deadline):
            raise DisconnectBusy(f"no time was left to revoke at Fortnox for tenant {tenant_id}; nothing changed")
        try:
            self._endpoint.revoke(refresh_token, within=deadline - self._clock())
        except FortnoxInvalidGrant:
            # Already dead at Fortnox (used, expired or revoked there, by a disconnect that stopped half-way):
            # nothing is left to revoke, and refusing would leave the disconnect unfinishable.
            logger.info("refresh token already dead at disconnect", extra={"tenant_id": tenant_id})
        except IN_DOUBT as doubt:
            return self._revoke_again(tenant_id, refresh_token, deadline, doubt)
        return True

    def _revoke_or_keep_mark(self, tenant_id: TenantId, refresh_token: str, deadline: float, *, marked: bool) -> bool:
        """The revoke, for a connection not yet marked ended; for one an earlier disconnect marked unconfirmed, one
        more chance to confirm it, whose refusal leaves it unconfirmed and lets the disconnect finish (there is
        nothing left that stopping would keep)."""
        try:
            return self._revoke_to_disconnect(tenant_id, refresh_token, deadline)
        except (FortnoxError, DisconnectBusy):
            if not marked:
                raise
            return False

    def _revoke_again(self, tenant_id: TenantId, refresh_token: str, deadline: float, doubt: FortnoxError) -> bool:
        failure: FortnoxError = doubt
        if self._fits(deadline):
            try:
                self._endpoint.revoke(refresh_token, within=deadline - self._clock())
                return True
            except FortnoxInvalidGrant:
                return True  # the first request revoked it
            except FortnoxError as error:
                failure = error
        logger.warning(
            "Fortnox did not confirm the revoke; the connection is ended here all the same",
            extra={"tenant_id": tenant_id, "error": type(failure).__name__, "status": failure.status},
        )
        return False

    def _fits(self, deadline: float) -> bool:
        """Whether one revoke, at its longest, ends before ``deadline``."""
        return deadline - self._clock() >= self._endpoint.attempt_seconds

    def _left_behind(self, connection: Connection) -> bool:
        """An ended connection whose disconnect stopped half-way: its tokens or its company binding are still there."""
        return (
            self._secrets.read(connection.tenant_id) is not None
            or self._connections.bound_tenant(connection.fortnox_tenant_id) == connection.tenant_id
        )

    def mark_needs_reconnect(self, tenant_id: TenantId, reason: str, *, generation: int | None = None) -> bool:
        """The connection is lost: say so on the tenant and, on the move from connected only, upstream once.

        ``generation`` limits the mark to the connection the caller used, so a lost old connection never marks the
        one that replaced it. Upstream asks for a connect link when it wants one: none travels in the event."""
        moved = self._connections.mark(tenant_id, ConnectionState.NEEDS_RECONNECT, reason, generation=generation)
        if moved:
            self._publisher.publish(ConnectionNeedsReconnect(tenant_id=tenant_id, reason=reason))
            logger.warning("tenant needs to reconnect", extra={"tenant_id": tenant_id, "reason": reason})
        return moved
