"""Every Fortnox code the project knows of is a fix a bookkeeper can act on, whole in Swedish and in English."""

import re
from datetime import UTC, datetime

import pytest

from fortnox_bridge.errors import BadInputError, NeedsTenantActionError
from fortnox_bridge.export.explanations import FIXES, explanation_of
from fortnox_bridge.fortnox.errors import FortnoxBadRequest, FortnoxServerError, FortnoxSetupError
from fortnox_bridge.fortnox.oauth import ConnectionLost
from fortnox_bridge.store.ledger import ManualMark, MarkedExported
from fortnox_bridge.store.tenants import UnknownTenant
from infra.names import ROOT

SHARED = ROOT.parent / "shared"
# Fortnox's codes are seven digits: 1000xxx for its own faults, 200xxxx for everything else. Nothing else in those
# files has that shape (invoice numbers there have six digits, organisation numbers a dash).
CODE = re.compile(r"(?<!\d)(?:1000\d{3}|200\d{4})(?!\d)")
# Words that give an English sentence away in a Swedish one.
ENGLISH = re.compile(r"\b(?:the|and|is|was|not|refused|export was)\b", re.IGNORECASE)


def _known_codes() -> set[int]:
    sources = [*sorted((SHARED / "seeds").glob("*.txt")), SHARED / "fortnox" / "FACTS.md"]
    assert all(source.is_file() for source in sources), "the shared contract is missing"
    return {int(code) for source in sources for code in CODE.findall(source.read_text(encoding="utf-8"))}


def test_the_shared_contract_names_the_codes_this_test_expects() -> None:
    codes = _known_codes()
    # Seed 004's six (BRP) and FACTS.md's table: a regex that found none would pass everything below.
    assert {2000946, 2002821, 2000548, 2001940, 2001798, 2000550} <= codes
    assert len(codes) >= 60


@pytest.mark.parametrize("code", sorted(_known_codes()))
def test_every_known_code_has_a_fix_in_both_languages(code: int) -> None:
    fix = FIXES.get(code)
    assert fix is not None, f"Fortnox code {code} has no fix"
    explanation = explanation_of(FortnoxBadRequest("Fortnox säger något.", status=400, code=code))
    assert explanation.code == code and explanation.fortnox_message == "Fortnox säger något."
    assert explanation.sv == fix.sv and explanation.en == fix.en
    assert len(explanation.sv) > 30 and len(explanation.en) > 30
    assert not ENGLISH.search(explanation.sv), explanation.sv
    assert not re.search(r"[åäöÅÄÖ]", explanation.en), explanation.en


def test_fixes_of_the_seed_004_codes_say_where_in_fortnox() -> None:
    for code in (2000946, 2002821, 2000548, 2001798, 2000550):
        fix = FIXES[code]
        assert fix.tenant_fixable
        assert ">" in fix.sv and ">" in fix.en, f"{code} does not say where in Fortnox"
    assert "Manuell" in FIXES[2001940].sv and "Voucher series" in FIXES[2001940].en


def test_a_fault_in_the_event_or_at_fortnox_is_not_the_tenants_to_fix() -> None:
    for code in (1000003, 2001740, 2002115, 2000359, 2000755):
        assert not FIXES[code].tenant_fixable


def test_a_code_nobody_has_met_keeps_fortnoxs_words_and_who_fixes_it() -> None:
    setup = explanation_of(FortnoxSetupError("Något nytt.", status=400, code=2999999))
    assert setup.tenant_fixable and setup.fortnox_message == "Något nytt." and not ENGLISH.search(setup.sv)
    request = explanation_of(FortnoxBadRequest("Något nytt.", status=400, code=2999998))
    assert not request.tenant_fixable


def test_the_bridges_own_refusals_are_whole_in_swedish() -> None:
    detail = "no readable PDF at s3://bucket/tenant/x.pdf (NoSuchKey)"
    cases: list[Exception] = [
        BadInputError(detail),
        NeedsTenantActionError("the tenant must do something"),
        UnknownTenant("no tenant nobody"),
        ConnectionLost("invalid_grant: the refresh token was revoked"),
        MarkedExported("invoice", "100353", ManualMark(reason="Inlagd för hand", at=datetime(2026, 1, 2, tzinfo=UTC))),
        FortnoxServerError("Internal error", status=500),
    ]
    for error in cases:
        explanation = explanation_of(error)
        assert not ENGLISH.search(explanation.sv), (type(error).__name__, explanation.sv)
        assert "s3://" not in explanation.sv and "invalid_grant" not in explanation.sv
    # The English side keeps the detail a developer needs.
    assert detail in explanation_of(BadInputError(detail)).en
    marked = explanation_of(cases[4])
    assert "2026-01-02" in marked.sv and "Inlagd för hand" in marked.sv and not marked.tenant_fixable
    assert explanation_of(cases[3]).tenant_fixable and not explanation_of(cases[2]).tenant_fixable
