"""The webhook signature as a receiver checks it: ``t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "{t}.{body}")>``."""

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from fortnox_bridge.webhooks.secrets import ROTATION_GRACE, StoredWebhookSecret
from fortnox_bridge.webhooks.signing import DEFAULT_TOLERANCE, SignatureRefused, signature_header, verify

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
BODY = '{"id":"pay-1","type":"payment.received","data":{"amount_sek":"1250.00"}}'


def test_the_header_is_the_documented_hmac_so_any_language_can_check_it() -> None:
    header = signature_header(["whsec_a"], 1764000000, BODY)

    expected = hmac.new(b"whsec_a", f"1764000000.{BODY}".encode(), hashlib.sha256).hexdigest()
    assert header == f"t=1764000000,v1={expected}"


def test_a_signed_body_verifies_and_a_changed_byte_does_not() -> None:
    header = signature_header(["whsec_a"], int(NOW.timestamp()), BODY)

    verify(header, BODY, "whsec_a", NOW)
    for body, secret in [(BODY.replace("1250", "1251"), "whsec_a"), (BODY, "whsec_b"), (BODY + " ", "whsec_a")]:
        with pytest.raises(SignatureRefused):
            verify(header, body, secret, NOW)


def test_a_replayed_request_outside_the_tolerance_is_refused() -> None:
    old = int((NOW - DEFAULT_TOLERANCE - timedelta(seconds=1)).timestamp())
    header = signature_header(["whsec_a"], old, BODY)

    with pytest.raises(SignatureRefused, match="tolerance"):
        verify(header, BODY, "whsec_a", NOW)
    verify(header, BODY, "whsec_a", NOW, tolerance=DEFAULT_TOLERANCE * 2)


def test_a_moved_timestamp_breaks_the_signature() -> None:
    header = signature_header(["whsec_a"], int(NOW.timestamp()) - 3600, BODY)
    moved = header.replace(f"t={int(NOW.timestamp()) - 3600}", f"t={int(NOW.timestamp())}")

    with pytest.raises(SignatureRefused):
        verify(moved, BODY, "whsec_a", NOW)


@pytest.mark.parametrize("header", ["", "v1=abc", "t=1764000000", "t=now,v1=abc", "t=1764000000,v0=abc"])
def test_a_malformed_header_is_refused(header: str) -> None:
    with pytest.raises(SignatureRefused):
        verify(header, BODY, "whsec_a", NOW)


def test_during_a_rotation_both_secrets_sign_and_either_verifies() -> None:
    header = signature_header(["whsec_new", "whsec_old"], int(NOW.timestamp()), BODY)

    verify(header, BODY, "whsec_old", NOW)
    verify(header, BODY, "whsec_new", NOW)
    assert header.count("v1=") == 2


def test_the_previous_secret_signs_for_the_grace_period_after_a_rotation_only() -> None:
    rotated = StoredWebhookSecret.model_validate({"secret": "whsec_new", "rotated_at": NOW.isoformat()})
    created = StoredWebhookSecret.model_validate({"secret": "whsec_first"})

    assert rotated.previous_signs(NOW + ROTATION_GRACE - timedelta(seconds=1))
    assert not rotated.previous_signs(NOW + ROTATION_GRACE)
    assert not created.previous_signs(NOW)
