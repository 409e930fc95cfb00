"""What a connection ended on request leaves for the tenant to do in Fortnox, in Swedish and English: told in the
disconnect's answer and on the tenant's status page, whichever the bookkeeper reads."""

from fortnox_bridge.store.connections import Connection, ConnectionState

REMOVE_IN_FORTNOX = (
    "En systemadministratör behöver ta bort integrationen i Fortnox under Inställningar > Integrationer. "
    "Till dess kan Fortnox fortfarande utfärda behörighet till den.",
    "A system administrator must remove the integration in Fortnox under Settings > Integrations. Until then "
    "Fortnox still issues access for it.",
)
UNCONFIRMED_REASON = "disconnected on request; Fortnox did not confirm the revoke"
"""The reason a person's connection ended without Fortnox confirming the revoke: kept on the connection, so that a
disconnect sent again after the tokens went still says so."""
REVOKE_UNCONFIRMED = (
    "Fortnox bekräftade inte att behörigheten återkallades. Bryggan har glömt den, men för att vara säker kan en "
    "systemadministratör ta bort integrationen i Fortnox under Inställningar > Integrationer.",
    "Fortnox did not confirm that it revoked the access. The bridge has forgotten it, but to be sure a system "
    "administrator can remove the integration in Fortnox under Settings > Integrations.",
)
ENDED_HERE = (
    "Anslutningen avslutades på begäran och Fortnox har återkallat behörigheten. Inget mer behöver göras i Fortnox.",
    "The connection was ended on request and Fortnox revoked the access. Nothing more needs doing in Fortnox.",
)


def ending(connection: Connection) -> tuple[str, str] | None:
    """How a connection ended on request stands at Fortnox, and what is left to do there; None for one that did not
    end on request (a lost connection's page says what to do instead)."""
    if connection.state is ConnectionState.DISCONNECTED and connection.service_account:
        return REMOVE_IN_FORTNOX
    if connection.state is ConnectionState.REVOKED:
        return REVOKE_UNCONFIRMED if connection.reason == UNCONFIRMED_REASON else ENDED_HERE
    return None
