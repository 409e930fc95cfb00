"""Attacks on the payment failure note of the failure digest: a tenant whose polls fail and who, meanwhile, switches
payment sync off and on, or heals and fails again. Through the poll queue and its handler, the scheduled digest
function, the sandbox and moto's SES."""

from fortnox_bridge.ids import TenantId
from fortnox_bridge.store.payment_sync import PollOutcome
from fortnox_bridge.store.tenants import Feature, TenantStore
from fortnox_sandbox.control_client import ALL_SCOPES
from tests.digest_interval import an_interval_passes
from tests.integration.test_payment_failure_digest import (
    _connect,
    _emails_to,
    _poll,
    _run_digest,
    unpaid_access,
)
from tests.paying import PaymentSync

__all__ = ["unpaid_access"]  # the fixture, found by pytest in this module

PAYMENTS_STOPPED = "Betalningar från Fortnox hämtas inte längre"
NO_PERMISSION = " ".join(scope for scope in ALL_SCOPES.split() if scope != "payment")


def _address(sync: PaymentSync) -> str:
    return f"bokforing-{sync.tenant.removesuffix('-np')}@example.se"


def _switch_payment_sync(sync: PaymentSync, *, on: bool) -> None:
    """What ``PUT /tenants/{id}/settings`` stores when the tenant switches payment sync off or on."""
    stores = TenantStore(sync.table)
    settings = stores.require(TenantId(sync.tenant)).settings
    features = [feature for feature in settings.features if feature is not Feature.PAYMENT_SYNC]
    stores.put_settings(
        TenantId(sync.tenant),
        settings.model_copy(update={"features": features + ([Feature.PAYMENT_SYNC] if on else [])}),
    )


def test_a_failure_still_failing_after_sync_is_switched_off_and_on_is_told(unpaid_access: PaymentSync) -> None:
    sync = unpaid_access
    # Given a poll refused for want of the payment permission, noted for the digest
    assert _poll(sync) is PollOutcome.FAILED

    # When the tenant switches payment sync off before the digest runs (nothing to say about a sync that is off)
    _switch_payment_sync(sync, on=False)
    _run_digest(sync)
    assert _emails_to(_address(sync)) == []

    # and switches it on again, nothing fixed, so the next polls fail the same way
    _switch_payment_sync(sync, on=True)
    assert _poll(sync) is PollOutcome.FAILED
    assert _poll(sync) is PollOutcome.FAILED
    an_interval_passes(sync.table, sync.tenant, 60)
    _run_digest(sync)

    # Then the bookkeeper is told that payments are not fetched
    mails = _emails_to(_address(sync))
    assert len(mails) == 1 and PAYMENTS_STOPPED in mails[0].body


def test_a_poll_that_fails_again_after_healing_is_told_again(unpaid_access: PaymentSync) -> None:
    sync = unpaid_access
    address = _address(sync)
    # Told once, healed by a poll that succeeds
    assert _poll(sync) is PollOutcome.FAILED
    _run_digest(sync)
    assert len(_emails_to(address)) == 1
    _connect(sync, ALL_SCOPES)
    assert _poll(sync) is PollOutcome.OK

    # When the permission is taken away again and the next poll fails
    _connect(sync, NO_PERMISSION)
    assert _poll(sync) is PollOutcome.FAILED
    an_interval_passes(sync.table, sync.tenant, 60)
    _run_digest(sync)

    # Then it is news again: a second e-mail says payments stopped
    mails = _emails_to(address)
    assert len(mails) == 2 and PAYMENTS_STOPPED in mails[1].body


def test_a_company_left_while_failing_and_connected_again_still_failing_is_told(unpaid_access: PaymentSync) -> None:
    sync = unpaid_access
    failing = sync.company
    # Given a poll of the company refused for want of the payment permission, not yet told
    assert _poll(sync) is PollOutcome.FAILED

    # When the tenant connects another company, whose polls work, and the digest runs (nothing to tell of it)
    sync.company = sync.scene.new_company("Andra Bolaget AB")
    _connect(sync, ALL_SCOPES)
    assert _poll(sync) is PollOutcome.OK
    _run_digest(sync)
    assert _emails_to(_address(sync)) == []

    # and then comes back to the first company, still without the permission
    sync.company = failing
    _connect(sync, NO_PERMISSION)
    assert _poll(sync) is PollOutcome.FAILED
    an_interval_passes(sync.table, sync.tenant, 60)
    _run_digest(sync)

    # Then the bookkeeper is told that payments are not fetched
    mails = _emails_to(_address(sync))
    assert len(mails) == 1 and PAYMENTS_STOPPED in mails[0].body


def test_a_failure_told_is_not_told_again_when_sync_is_switched_off_and_on_while_it_lasts(
    unpaid_access: PaymentSync,
) -> None:
    sync = unpaid_access
    address = _address(sync)
    # Given a failing poll the bookkeeper was told of
    assert _poll(sync) is PollOutcome.FAILED
    _run_digest(sync)
    assert len(_emails_to(address)) == 1

    # When the tenant switches payment sync off, an export fails meanwhile and its digest goes out
    _switch_payment_sync(sync, on=False)
    sync.scene.control.patch_account(sync.company, 3041, Active=False)
    sync.export.send(sync.export.event("100710"))
    an_interval_passes(sync.table, sync.tenant, 60)
    _run_digest(sync)
    assert len(_emails_to(address)) == 2

    # and switches it on again, nothing fixed, so the polls fail as before, interval after interval
    _switch_payment_sync(sync, on=True)
    assert _poll(sync) is PollOutcome.FAILED
    an_interval_passes(sync.table, sync.tenant, 60)
    _run_digest(sync)
    assert _poll(sync) is PollOutcome.FAILED
    an_interval_passes(sync.table, sync.tenant, 60)
    _run_digest(sync)

    # Then the failure, the same one that was told, is not told again
    mails = _emails_to(address)
    assert len(mails) == 2 and PAYMENTS_STOPPED not in mails[1].body
