"""The article register as real Fortnox keeps it, and article numbers on invoice and order rows.

Evidence: the recordings in tests/sandbox/recorded/articles__*.json (accodeing/fortnox-api's cassettes
spec/vcr_cassettes/articles/*.yml) and invoices__save_with_nested_model.json.
"""

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from fortnox_bridge.fortnox.models.articles import ArticleWrite
from tests.conftest import Scene

RECORDED = Path(__file__).resolve().parent / "recorded"


def _recorded(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((RECORDED / f"{name}.json").read_text())
    return loaded


class Api:
    def __init__(self, scene: Scene) -> None:
        self.http = httpx.Client(
            base_url=scene.url, headers={"Authorization": f"Bearer {scene.token()}", "Content-Type": "application/json"}
        )

    def get(self, path: str) -> httpx.Response:
        return self.http.get(path)

    def post(self, path: str, body: Any) -> httpx.Response:
        return self.http.post(path, json=body)

    def put(self, path: str, body: Any) -> httpx.Response:
        return self.http.put(path, json=body)


@pytest.fixture
def api(scene: Scene) -> Api:
    api = Api(scene)
    api.post("/3/customers", {"Customer": {"Name": "Kund AB"}}).raise_for_status()
    return api


def _code(answer: httpx.Response) -> int:
    information = answer.json()["ErrorInformation"]
    return int(information.get("code") or information.get("Code"))


def test_a_created_article_has_fortnox_keys_defaults_and_location(api: Api) -> None:
    recorded = _recorded("articles__limits__quantity_in_stock_min_value")
    answer = api.post("/3/articles", {"Article": {"Description": "Test article"}})
    assert answer.status_code == 201
    assert answer.headers["Location"] == recorded["response"]["headers"]["Location"][0] == "articles"
    article = answer.json()["Article"]
    expected = recorded["response"]["body"]["Article"]
    assert list(article) == list(expected)
    differing = {key for key in expected if key != "@url" and article[key] != expected[key]}
    # The recorded article was made with a stock quantity and numbered 116 in a company that had 115 before.
    assert differing == {"ArticleNumber", "DisposableQuantity", "QuantityInStock"}
    assert (article["ArticleNumber"], article["QuantityInStock"], article["SalesAccount"]) == ("1", 0, 3001)


def test_a_missing_article_answers_as_recorded(api: Api) -> None:
    recorded = _recorded("articles__find_failure")
    answer = api.get("/3/articles/123456789")
    assert answer.status_code == recorded["response"]["status"]["code"] == 404
    assert answer.json() == recorded["response"]["body"]
    assert api.put("/3/articles/123456789", {"Article": {"Description": "x"}}).status_code == 404


def test_an_update_changes_only_what_it_sends(api: Api) -> None:
    created = api.post("/3/articles", _recorded("articles__save_new")["request"]["body"]).json()["Article"]
    number = created["ArticleNumber"]
    updated = api.put(f"/3/articles/{number}", _recorded("articles__save_old")["request"]["body"])
    assert updated.status_code == 200
    after = updated.json()["Article"]
    assert after["Description"] == "Updated description"
    assert {key: value for key, value in after.items() if key != "Description"} == {
        key: value for key, value in created.items() if key != "Description"
    }
    assert api.get(f"/3/articles/{number}").json()["Article"] == after


def test_a_sales_account_without_vat_predefines_the_vat_from_the_account(api: Api) -> None:
    # save_new.yml: SalesAccount 1250 (no VAT code) came back with VAT 0; 3002 carries MP2, 12 %.
    answer = api.post("/3/articles", {"Article": {"Description": "Bok", "SalesAccount": 3002}})
    assert (answer.json()["Article"]["SalesAccount"], answer.json()["Article"]["VAT"]) == (3002, 12)


def test_articles_are_numbered_after_the_highest_number(api: Api) -> None:
    api.post("/3/articles", {"Article": {"Description": "Hammer", "ArticleNumber": "101"}}).raise_for_status()
    answer = api.post("/3/articles", {"Article": {"Description": "A value"}})
    assert answer.json()["Article"]["ArticleNumber"] == "102"  # as in articles/save_new.yml after article 101
    twice = api.post("/3/articles", {"Article": {"Description": "Igen", "ArticleNumber": "101"}})
    assert twice.status_code == 400


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("1.123", "1.12"),  # limits/quantity_in_stock_rounding_positive_value.yml
        ("1.125", "1.13"),  # half up, not half even
        ("-99999999999999.9", "-100000000000000"),  # limits/quantity_in_stock_min_value.yml
        ("7", "7"),
    ],
)
def test_quantity_in_stock_is_rounded_as_fortnox_rounds(api: Api, sent: str, stored: str) -> None:
    raw = '{"Article":{"Description":"Test article","QuantityInStock":' + sent + "}}"
    answer = api.http.post("/3/articles", content=raw)
    assert answer.status_code == 201
    assert answer.text.count(f'"QuantityInStock":{stored},') == 1
    assert answer.text.count(f'"DisposableQuantity":{stored},') == 1


@pytest.mark.parametrize(
    "article",
    [
        {"Description": ""},
        {"Description": "x" * 201},
        {"Description": "Test", "QuantityInStock": -100000000000001},
        {"Description": "Test", "Type": "GOODS"},
        {"Description": "Test", "EAN": "1" * 31},
        {"Description": "Test", "Colour": "red"},
    ],
)
def test_what_fortnox_refuses_in_an_article_is_refused(api: Api, article: dict[str, Any]) -> None:
    answer = api.post("/3/articles", {"Article": article})
    assert answer.status_code == 400
    assert api.get("/3/articles").json()["Articles"] == []


def _seed_recorded_register(scene: Scene) -> None:
    scene.control.seed_articles(
        scene.tenant_id,
        [
            {"ArticleNumber": "1", "Description": "Test article", "EAN": "5901234123457", "Unit": ""},
            {"ArticleNumber": "2", "Description": "Updated description"},
            {"ArticleNumber": "3", "Description": "Test article", "EAN": "5901234123457", "Unit": ""},
            {"ArticleNumber": "101", "Description": "Hammer", "StockPlace": ""},
            {"ArticleNumber": "102", "Description": "Updated description"},
            {"ArticleNumber": "103", "Description": "Test article", "EAN": "5901234123457", "Unit": ""},
        ],
    )


def _without_urls(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{key: value for key, value in row.items() if key != "@url"} for row in rows]


def test_the_list_has_the_recorded_items_in_article_number_order(scene: Scene, api: Api) -> None:
    _seed_recorded_register(scene)
    recorded = _recorded("articles__all")["response"]["body"]
    answer = api.get("/3/articles").json()
    assert _without_urls(answer["Articles"]) == _without_urls(recorded["Articles"])
    assert answer["MetaInformation"]["@TotalResources"] == 6


def test_searches_filter_the_register(scene: Scene, api: Api) -> None:
    _seed_recorded_register(scene)
    api.put("/3/articles/2", {"Article": {"Active": False}}).raise_for_status()

    def numbers(query: str) -> list[str]:
        answer = api.get(f"/3/articles?{query}")
        assert answer.status_code == 200, answer.text
        return [row["ArticleNumber"] for row in answer.json()["Articles"]]

    recorded = _recorded("articles__search_by_name")["response"]["body"]["Articles"]
    assert numbers("description=Test%20article") == [row["ArticleNumber"] for row in recorded] == ["1", "3", "103"]
    assert numbers("description=test") == ["1", "3", "103"]
    assert numbers("description=nothing") == []  # articles/search_miss.yml
    assert numbers("articlenumber=101") == ["101"]  # articles/single_param_find_by_hash.yml
    assert numbers("articlenumber=101&description=Hammer") == ["101"]  # multi_param_find_by_hash.yml
    assert numbers("ean=5901234123457") == ["1", "3", "103"]
    assert numbers("filter=inactive") == ["2"]
    assert "2" not in numbers("filter=active")
    bad = api.get("/3/articles?filter=expired")
    assert (bad.status_code, _code(bad)) == (400, 2000587)


def test_the_client_reads_and_writes_the_register(scene: Scene) -> None:
    client = scene.client()
    created = client.articles.create(ArticleWrite(Description="Frakt", ArticleNumber="FRAKT", SalesAccount=3041))
    client.articles.update("FRAKT", ArticleWrite(Unit="st"))
    assert client.articles.get("FRAKT").Unit == "st"
    assert [(item.ArticleNumber, item.Description) for item in client.articles.list()] == [("FRAKT", "Frakt")]
    assert created.SalesAccount == 3041


def _invoice(*rows: dict[str, Any]) -> dict[str, Any]:
    return {"Invoice": {"CustomerNumber": "1", "InvoiceRows": list(rows)}}


def test_a_known_article_fills_the_row_it_is_named_on(scene: Scene, api: Api) -> None:
    scene.control.seed_articles(
        scene.tenant_id, [{"ArticleNumber": "101", "Description": "Hammer", "SalesAccount": 3041, "Unit": "st"}]
    )
    recorded = _recorded("invoices__save_with_nested_model")
    answer = api.post("/3/invoices", recorded["request"]["body"])
    assert answer.status_code == 201, answer.text
    [row] = answer.json()["Invoice"]["InvoiceRows"]
    assert (row["ArticleNumber"], row["Description"], row["AccountNumber"], row["Unit"], row["VAT"]) == (
        "101",
        "Hammer",
        3041,
        "st",
        25,
    )
    own = api.post(
        "/3/invoices", _invoice({"ArticleNumber": "101", "Description": "Egen text", "AccountNumber": 3001, "VAT": 12})
    )
    [row] = own.json()["Invoice"]["InvoiceRows"]
    assert (row["Description"], row["AccountNumber"], row["VAT"]) == ("Egen text", 3001, 12)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/3/invoices", _invoice({"ArticleNumber": "NOPE", "Description": "Frakt", "Price": 10})),
        (
            "/3/orders",
            {"Order": {"CustomerNumber": "1", "OrderRows": [{"ArticleNumber": "NOPE", "OrderedQuantity": 1}]}},
        ),
    ],
)
def test_an_unknown_article_on_a_row_is_refused(api: Api, path: str, body: dict[str, Any]) -> None:
    answer = api.post(path, body)
    assert (answer.status_code, _code(answer)) == (400, 2001302)
    assert answer.json()["ErrorInformation"]["message"] == "Kunde inte hitta artikel."
