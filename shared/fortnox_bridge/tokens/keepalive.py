"""Keep idle connections alive: Fortnox refresh tokens die after 45 days and API calls do not extend them."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from fortnox_bridge.errors import BridgeError, RetryableError
from fortnox_bridge.fortnox.ports import TokenProvider
from fortnox_bridge.ids import TenantId
from fortnox_bridge.observability import logger
from fortnox_bridge.store.connections import Connection, ConnectionState, ConnectionStore
from fortnox_bridge.tokens.tenant_tokens import ConnectionLost

DEFAULT_THRESHOLD = timedelta(days=30)


@dataclass
class KeepAliveReport:
    refreshed: list[TenantId] = field(default_factory=list)
    lost: list[TenantId] = field(default_factory=list)
    postponed: list[TenantId] = field(default_factory=list)
    """A passing failure (Fortnox down, a refresh in another worker): tomorrow's run may well succeed."""
    failed: list[TenantId] = field(default_factory=list)
    """Refused in a way that repeats: tomorrow's run fails the same way, and at day 45 the connection is lost."""
    skipped: list[TenantId] = field(default_factory=list)
    """Disconnected on request while the run went on: nothing to keep alive, nothing lost."""


class ForcedRefresh:
    """Makes a provider refresh now by refusing whatever token it holds."""

    def __init__(self, tokens: TokenProvider) -> None:
        self._tokens = tokens

    def run(self) -> None:
        self._tokens.invalidate(self._tokens.access_token())
        self._tokens.access_token()


def keep_alive(
    *,
    connections: ConnectionStore,
    tokens_for: Callable[[TenantId], TokenProvider],
    now: datetime,
    threshold: timedelta = DEFAULT_THRESHOLD,
) -> KeepAliveReport:
    """Refresh every user-consent connection whose refresh token is older than ``threshold``."""
    report = KeepAliveReport()
    for connection in connections.due_for_refresh(now - threshold):
        try:
            ForcedRefresh(tokens_for(connection.tenant_id)).run()
        except ConnectionLost:
            if _left_on_request(connections, connection):
                report.skipped.append(connection.tenant_id)
            else:
                report.lost.append(connection.tenant_id)
        except RetryableError:
            report.postponed.append(connection.tenant_id)
        except BridgeError as error:
            # Not passing and not Fortnox ending the grant: nothing changes by tomorrow unless a person acts.
            logger.error(
                "keep-alive could not refresh, and the next run will fail the same way",
                extra={"tenant_id": connection.tenant_id, "error": type(error).__name__, "reason": error.message},
            )
            report.failed.append(connection.tenant_id)
        else:
            report.refreshed.append(connection.tenant_id)
    return report


def _left_on_request(connections: ConnectionStore, listed: Connection) -> bool:
    """The connection listed as connected is now ended on request, gone or replaced, not lost to Fortnox refusing
    a refresh token (which marks a connection ``needs_reconnect`` and tells upstream): nothing to keep alive, and no
    alarm is due.

    A disconnect holds the tenant's refresh lease while it revokes, marks the connection ended and deletes the
    tokens, in that order: a refresh that raced it finds the tokens gone only once the mark is there to read. A
    tenant that connected again since (another generation, maybe another company) had the listed connection ended
    first: what stands now is a new connection, which this run was not keeping alive, unless the refresh this run
    made for the tenant was refused and marked that new one lost, which is a loss like any other."""
    current = connections.get(listed.tenant_id)
    if current is not None and (
        current.state is ConnectionState.NEEDS_RECONNECT
        or (
            current.state is ConnectionState.CONNECTED
            and current.generation == listed.generation
            and current.fortnox_tenant_id == listed.fortnox_tenant_id
        )
    ):
        return False
    tenant = listed.tenant_id
    logger.info(
        "keep-alive passed over a tenant that disconnected during the run",
        extra={"tenant_id": tenant, "state": current.state if current is not None else None},
    )
    return True
