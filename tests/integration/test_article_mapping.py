"""A mapping that names an article Fortnox does not have fails the export with a reason the bookkeeper can act on.

Fortnox looks every row's ArticleNumber up in the company's article register and refuses an unknown one with
2001302 (FACTS.md section 4; the sandbox's rows follow accodeing/fortnox-api's invoices/save_with_nested_model.yml).
"""

from typing import Any

import pytest

from fortnox_bridge.ids import TenantId
from fortnox_bridge.mapping.rules import MappingRule, TenantMapping
from fortnox_bridge.store.mappings import MappingStore
from tests.exporting import Export, export

pytestmark = pytest.mark.integration
__all__ = ["export"]  # the fixture, imported so pytest finds it


def test_an_article_missing_in_fortnox_fails_the_export_until_the_bookkeeper_adds_it(
    export: Export, events_tap: Any
) -> None:
    MappingStore(export.table).put(
        TenantId(export.tenant),
        TenantMapping(
            rules=[
                MappingRule(
                    match_on="service_type", value="FREIGHT", account=3041, article_number="FRAKT", label="Frakt"
                ),
                MappingRule(match_on="service_type", value="FUEL", account=3041, article_number="FRAKT", label="Frakt"),
            ]
        ),
    )

    outcomes = export.send(export.event(event_id="first"))

    assert [(outcome.received, outcome.failed) for outcome in outcomes] == [(1, 0)]  # refused, not retried in vain
    assert export.invoices() == []
    failed = [event.detail for event in events_tap.received() if event.detail_type == "invoice.export_failed"]
    assert failed[0]["fortnox_code"] == 2001302
    assert "Artikeln finns inte i Fortnox" in failed[0]["reason_sv"]
    assert "article does not exist in Fortnox" in failed[0]["reason_en"]

    export.scene.control.seed_articles(export.company, [{"ArticleNumber": "FRAKT", "Description": "Frakt"}])
    export.send(export.event(event_id="after-the-fix"))

    [invoice] = export.invoices()
    assert [(row["ArticleNumber"], row["Description"]) for row in invoice["InvoiceRows"]] == [
        ("FRAKT", "Frakt"),
        ("", "Väntetid"),
    ]
