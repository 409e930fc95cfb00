"""Issue 13, point 1: a process keeps its access tokens, its secrets and its HTTP pool between invoices, and never
past the trust rules: a token is used only for the company and connection it was issued under, and one Fortnox
refuses is replaced once.

Through the real handler and queue path against the sandbox and moto. Token requests are counted in the sandbox's
request log; secret reads with a botocore hook on the process's Secrets Manager client. Time that passes for the
whole world (the sandbox and the bridge) is moved on both clocks; time that passes only at Fortnox (a token it
refuses early) on the sandbox's alone.
"""

from collections.abc import Iterator
from typing import Any

import pytest

from fortnox_bridge import aws, wiring
from fortnox_bridge.ids import TenantId
from fortnox_bridge.store.mappings import MappingStore
from fortnox_bridge.tokens.tenant_tokens import FRESH_ENOUGH_SECONDS
from local_stack.connect_walk import walk
from local_stack.onboarding import connect_service_account
from local_stack.runner import LocalRunner
from tests.conftest import Scene
from tests.exporting import Export, export, freight_mapping, person_export
from tests.resilience.test_connect_links import Management

pytestmark = pytest.mark.integration
__all__ = ["export", "person_export"]  # the fixtures, imported so pytest finds them

ACCESS_TOKEN_SECONDS = 3600
"""Fortnox's access-token lifetime (FACTS.md 1.4), which the sandbox keeps."""


class SecretReads:
    """Counts GetSecretValue calls made by the bridge's own Secrets Manager client."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, **_: Any) -> None:
        self.count += 1


@pytest.fixture
def secret_reads(runner: LocalRunner) -> Iterator[SecretReads]:
    reads = SecretReads()
    events = aws.secrets().meta.events
    events.register("before-call.secrets-manager.GetSecretValue", reads)
    yield reads
    events.unregister("before-call.secrets-manager.GetSecretValue", reads)


def _token_requests(scene: Scene, grant: str) -> int:
    return sum(1 for row in scene.control.requests() if row["path"] == "/oauth-v1/token" and row["grant_type"] == grant)


def _refused_calls(scene: Scene) -> int:
    return sum(1 for row in scene.control.requests() if row["status"] == 401)


def _api_companies(scene: Scene, since: int) -> set[int]:
    """The companies whose tokens the API calls since ``since`` carried (the sandbox logs each token's claim)."""
    return {row["tenant_id"] for row in scene.control.requests()[since:] if row["path"].startswith("/3/")}


def _later(scene: Scene, seconds: float, monkeypatch: pytest.MonkeyPatch) -> None:
    """Time passes for everyone: at Fortnox and on the bridge's token clock."""
    scene.control.advance_clock(seconds)
    cache = wiring.token_cache()
    clock = cache.clock
    monkeypatch.setattr(cache, "clock", lambda: clock() + seconds)


def _one_by_one(export: Export, *numbers: str) -> None:
    """Each invoice in an invocation of its own, as a warm Lambda takes them."""
    for number in numbers:
        export.send(export.event(number))


def test_many_invoices_of_a_service_account_tenant_cost_one_token_and_no_secret_read(
    export: Export, secret_reads: SecretReads
) -> None:
    # Given a warm worker that exported one invoice
    _one_by_one(export, "500001")
    secret_reads.count = 0

    # When six more invoices arrive, each in its own invocation
    _one_by_one(export, *[str(500002 + n) for n in range(6)])

    # Then all seven are in Fortnox, one token was asked for, and the later six read no secret
    assert len(export.invoices()) == 7
    assert _token_requests(export.scene, "client_credentials") == 1
    assert secret_reads.count == 0


def test_many_invoices_of_a_person_tenant_read_its_secret_once(
    person_export: Export, secret_reads: SecretReads
) -> None:
    export = person_export
    _one_by_one(export, "510001")
    secret_reads.count = 0

    _one_by_one(export, *[str(510002 + n) for n in range(5)])

    assert len(export.invoices()) == 6
    assert secret_reads.count == 0
    assert _token_requests(export.scene, "refresh_token") == 0


def test_two_tenants_on_one_process_each_send_only_their_own_token(
    export: Export, runner: LocalRunner, deployed: Any, scene: Scene, table: Any, unique: str
) -> None:
    # Given two service-account tenants of two companies, served by the same warm worker
    other = f"{unique}-b"
    company = scene.new_company("Grannen AB")
    connect_service_account(
        table, scene.control, scene.app, tenant_id=TenantId(other), fortnox_tenant_id=company, display_name="Grannen"
    )
    MappingStore(table).put(TenantId(other), freight_mapping())
    neighbour = Export(runner, deployed, scene, table, other, company)

    # When their invoices arrive in turns
    for n in range(3):
        _one_by_one(export, f"52000{n}")
        _one_by_one(neighbour, f"52100{n}")

    # Then each company holds exactly its own tenant's invoices, and each company's token was asked for once
    assert {invoice["ExternalInvoiceReference1"] for invoice in export.invoices()} == {
        f"FB:{export.tenant}:52000{n}" for n in range(3)
    }
    assert {invoice["ExternalInvoiceReference1"] for invoice in neighbour.invoices()} == {
        f"FB:{other}:52100{n}" for n in range(3)
    }
    assert _token_requests(scene, "client_credentials") == 2


def test_a_reconnect_to_another_company_never_sends_the_first_companys_kept_token(export: Export) -> None:
    # Given a worker holding a token for company A, whose consent still stands at Fortnox
    first = export.company
    _one_by_one(export, "530001")

    # When the tenant reconnects to company B and its next invoice arrives
    export.reconnect(export.scene.new_company("Nästa AB"))
    since = len(export.scene.control.requests())
    _one_by_one(export, "530002")

    # Then only B's token was sent, and the invoice is in B alone
    assert _api_companies(export.scene, since) == {export.company}
    assert [invoice["ExternalInvoiceReference1"] for invoice in export.invoices()] == [f"FB:{export.tenant}:530002"]
    assert len(export.scene.control.company(first)["invoices"]) == 1


def test_a_person_reconnect_to_another_company_never_sends_the_first_companys_kept_token(
    person_export: Export, gateway: Any
) -> None:
    export = person_export
    first = export.company
    _one_by_one(export, "540001")

    second = export.scene.new_company("Nytt Bolag AB")
    assert walk(Management(gateway.url).link(export.tenant, replace_connection=True), second).status == 200
    export.company = second
    since = len(export.scene.control.requests())
    _one_by_one(export, "540002")

    assert _api_companies(export.scene, since) == {second}
    assert [invoice["ExternalInvoiceReference1"] for invoice in export.invoices()] == [f"FB:{export.tenant}:540002"]
    assert len(export.scene.control.company(first)["invoices"]) == 1


def test_a_kept_token_fortnox_refuses_is_replaced_once_and_the_invoice_goes(export: Export) -> None:
    # Given a worker holding a token that Fortnox stops accepting before the bridge expects (it expired there)
    _one_by_one(export, "550001")
    export.scene.control.advance_clock(ACCESS_TOKEN_SECONDS + 1)

    # When the next invoices arrive
    _one_by_one(export, "550002", "550003")

    # Then one call was refused, one new token was asked for and kept, and every invoice is in Fortnox once
    assert _refused_calls(export.scene) == 1
    assert _token_requests(export.scene, "client_credentials") == 2
    assert len(export.invoices()) == 3


def test_a_kept_person_token_fortnox_refuses_is_refreshed_once_and_the_invoice_goes(person_export: Export) -> None:
    export = person_export
    _one_by_one(export, "560001")
    export.scene.control.advance_clock(ACCESS_TOKEN_SECONDS + 1)

    _one_by_one(export, "560002", "560003")

    assert _refused_calls(export.scene) == 1
    assert _token_requests(export.scene, "refresh_token") == 1
    assert len(export.invoices()) == 3


def test_a_kept_token_near_its_end_is_replaced_before_it_is_sent(
    export: Export, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a worker holding a token, and time passing until it has ten seconds less than the margin left
    _one_by_one(export, "570001")
    _later(export.scene, ACCESS_TOKEN_SECONDS - wiring.token_margin() + 10, monkeypatch)

    # When the next invoices arrive
    _one_by_one(export, "570002", "570003")

    # Then a new token was asked for before the old one was sent (Fortnox refused nothing), and then kept
    assert _token_requests(export.scene, "client_credentials") == 2
    assert _refused_calls(export.scene) == 0
    assert len(export.invoices()) == 3


def test_a_kept_person_token_near_its_end_is_refreshed_before_it_is_sent(
    person_export: Export, monkeypatch: pytest.MonkeyPatch
) -> None:
    export = person_export
    _one_by_one(export, "580001")
    _later(export.scene, ACCESS_TOKEN_SECONDS - max(FRESH_ENOUGH_SECONDS, wiring.token_margin()) + 10, monkeypatch)

    _one_by_one(export, "580002", "580003")

    assert _token_requests(export.scene, "refresh_token") == 1
    assert _refused_calls(export.scene) == 0
    assert len(export.invoices()) == 3
