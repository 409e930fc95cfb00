"""Ready-made scenes for tests, the demo and a sandbox started by hand."""

from fortnox_sandbox.state import App, SandboxState, new_company

DEMO_CLIENT_ID = "fortnox-bridge-local"
DEMO_CLIENT_SECRET = "local-client-secret"  # noqa: S105 - a sandbox-only credential, printed on purpose
DEMO_TENANT_ID = 1000001
DEMO_REDIRECT_URI = "http://127.0.0.1/oauth/callback"


def seed_demo(state: SandboxState, *, redirect_uris: list[str] | None = None) -> list[str]:
    """An app and one company, as the demo and a hand-started sandbox need them."""
    with state.lock:
        state.apps[DEMO_CLIENT_ID] = App(
            client_id=DEMO_CLIENT_ID,
            client_secret=DEMO_CLIENT_SECRET,
            redirect_uris=redirect_uris or [DEMO_REDIRECT_URI],
        )
        state.companies[DEMO_TENANT_ID] = new_company(
            DEMO_TENANT_ID, "Sandlådan Åkeri AB", "556677-8899", state.today()
        )
    return [
        f"app: client_id={DEMO_CLIENT_ID} client_secret={DEMO_CLIENT_SECRET}",
        f"company: {DEMO_TENANT_ID} Sandlådan Åkeri AB (556677-8899)",
    ]
