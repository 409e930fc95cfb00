"""The status page against someone poking at it: a reason that reads otherwise than it was typed, redirects steered
by the query, state changed by a GET, and answers a browser or a proxy would keep. Through the local gateway, the
hosted handler and the sandbox."""

from typing import Any

import pytest

from fortnox_bridge.store.ledger import ExportState
from tests.exporting import Export, export
from tests.integration.test_status_page import Site, drain, entry, fail_an_invoice, site

pytestmark = pytest.mark.integration
__all__ = ["export", "site"]  # the fixtures, imported so pytest finds them


@pytest.mark.parametrize(
    "reason",
    [
        "Inlagd för hand, ver A 12\u202e21 A rev ,dnah röf dalnI",  # a bidi override: shown reversed on the page
        "Inlagd\u200b för hand",  # a zero-width space: two reasons that look alike are not alike
        "Inlagd för hand\x00",
    ],
)
def test_a_reason_that_would_read_otherwise_than_typed_marks_nothing(export: Export, site: Site, reason: str) -> None:
    failed = fail_an_invoice(export)
    link = site.link(export.tenant)
    csrf = site.open(link)[1].csrf()

    pressed = site.press(link, failed, "mark-exported", csrf=csrf, reason=reason)

    assert pressed.status_code == 303 and pressed.headers["location"].endswith("flash=reason_unprintable")
    assert entry(export, "100353").state is ExportState.FAILED
    assert "osynliga tecken" in site.open(pressed.headers["location"])[1].body


def test_the_query_cannot_steer_the_redirect_or_the_page_text(export: Export, site: Site) -> None:
    failed = fail_an_invoice(export)
    link = site.link(export.tenant)
    csrf = site.open(link)[1].csrf()

    # A language or flash of the attacker's choosing is not carried to the Location, nor shown on the page
    steered = site.browser.post(
        f"{link}/exports/{failed}/retry?lang=https://evil.example&flash=<b>pwned</b>", data={"csrf": csrf}
    )
    assert steered.status_code == 303
    assert steered.headers["location"] == f"{link}?flash=retried"
    answer, seen = site.open(f"{link}?flash=<b>pwned</b>&lang=javascript:alert(1)")
    assert "pwned" not in answer.text and "javascript:" not in answer.text
    assert not any(tag == "b" for tag, _ in seen.tags)


def test_a_get_on_an_action_changes_nothing_and_every_answer_is_kept_by_no_one(export: Export, site: Site) -> None:
    failed = fail_an_invoice(export)
    link = site.link(export.tenant)
    csrf = site.open(link)[1].csrf()
    export.scene.control.patch_account(export.company, 3041, Active=True)

    # A link prefetcher or a crawler that follows the form's address with GET sends nothing
    for action in ("retry", "mark-exported"):
        assert site.browser.get(f"{link}/exports/{failed}/{action}?csrf={csrf}&reason=x").status_code == 404
    drain(export)
    assert export.invoices() == [] and entry(export, "100353").state is ExportState.FAILED

    # Page, redirect, error page and a refused form alike tell browsers and proxies to keep nothing
    answers: list[Any] = [
        site.open(link)[0],
        site.press(link, failed, "retry", csrf=csrf),
        site.press(link, failed, "retry", csrf="not-this-links"),
        site.browser.get(f"{link}x"),
        site.browser.get(f"{link}/exports/{failed}/sie"),
    ]
    for answer in answers:
        assert answer.headers["cache-control"] == "no-store", answer.request.url
        assert answer.headers["referrer-policy"] == "no-referrer"
