"""The Fortnox client against the sandbox over 127.0.0.1: errors, paging, retries, writes."""

import time
from decimal import Decimal

import httpx
import pytest

from fortnox_bridge.fortnox import errors
from fortnox_bridge.fortnox.client import FortnoxClient
from fortnox_bridge.fortnox.models.customers import CustomerWrite
from fortnox_bridge.fortnox.models.files import AttachmentWrite
from fortnox_bridge.fortnox.models.invoices import InvoiceRowWrite, InvoiceWrite
from fortnox_bridge.fortnox.oauth import TokenEndpoint
from fortnox_bridge.fortnox.ports import NoRateLimit
from fortnox_bridge.fortnox.retry import RetryPolicy
from tests.conftest import Scene

pytestmark = pytest.mark.integration


def _invoice(customer: str = "1", **fields: object) -> InvoiceWrite:
    return InvoiceWrite(
        CustomerNumber=customer,
        InvoiceRows=[
            InvoiceRowWrite(AccountNumber=3001, DeliveredQuantity=Decimal(2), Price=Decimal("100.25"), VAT=25)
        ],
        **fields,  # type: ignore[arg-type]
    )


@pytest.fixture
def client(scene: Scene) -> FortnoxClient:
    client = scene.client()
    client.customers.create(CustomerWrite(Name="Acme AB"))
    return client


# -- every error shape ----------------------------------------------------------------------------------------
def test_404_with_pascal_case_error_information_is_parsed(client: FortnoxClient) -> None:
    with pytest.raises(errors.FortnoxNotFound) as caught:
        client.customers.get("123456789")
    assert (caught.value.status, caught.value.code, caught.value.message) == (404, 2000433, "Kan inte hitta kunden.")


def test_400_with_lower_case_error_information_is_parsed(client: FortnoxClient) -> None:
    with pytest.raises(errors.FortnoxSetupError) as caught:
        client.invoices.create(_invoice(Currency="XYZ"))
    assert (caught.value.status, caught.value.code) == (400, 2000427)


def test_setup_codes_need_the_tenant_and_others_are_bad_input(scene: Scene, client: FortnoxClient) -> None:
    scene.control.patch_account(scene.tenant_id, 3001, Active=False)
    with pytest.raises(errors.FortnoxSetupError) as inactive:
        client.invoices.create(_invoice())
    assert inactive.value.code == 2000550
    with pytest.raises(errors.FortnoxBadRequest) as unknown_customer:
        client.invoices.create(_invoice(customer="999"))
    assert unknown_customer.value.code == 2000433


def test_expired_token_401_message_shape_is_parsed(scene: Scene) -> None:
    client = scene.client(token="not-a-token")
    with pytest.raises(errors.FortnoxUnauthorized) as caught:
        client.company_information.get()
    assert (caught.value.status, caught.value.message, caught.value.code) == (401, "unauthorized", None)


def test_missing_scope_is_refused_with_2000663(scene: Scene) -> None:
    client = scene.client(token=scene.token("companyinformation"))
    with pytest.raises(errors.FortnoxForbidden) as caught:
        list(client.customers.list())
    assert caught.value.code == 2000663


def test_oauth_errors_sent_as_text_html_are_parsed(scene: Scene) -> None:
    endpoint = TokenEndpoint(auth_url=scene.url, client_id=scene.app.client_id, client_secret=lambda: "test-secret")
    with pytest.raises(errors.FortnoxInvalidGrant) as caught:
        endpoint.refresh("never-issued")
    assert (caught.value.status, caught.value.error, caught.value.message) == (
        400,
        "invalid_grant",
        "Invalid refresh token",
    )
    wrong = TokenEndpoint(auth_url=scene.url, client_id=scene.app.client_id, client_secret=lambda: "wrong")
    with pytest.raises(errors.FortnoxInvalidClient) as refused:
        wrong.refresh("anything")
    assert refused.value.status == 401


def test_fileattachments_error_shape_is_parsed(client: FortnoxClient) -> None:
    invoice = client.invoices.create(_invoice())
    text = client.inbox.upload("note.pdf", b"not really a pdf")
    with pytest.raises(errors.FortnoxAttachmentError) as caught:
        client.file_attachments.attach(
            [
                AttachmentWrite(
                    entityId=int(invoice.DocumentNumber or 0), entityType="F", fileId=text.ArchiveFileId or ""
                )
            ]
        )
    assert (caught.value.status, caught.value.error) == (400, "wrong_file_type")


# -- reading leniently, writing exactly -----------------------------------------------------------------------
def test_invoice_amounts_arrive_as_exact_decimals_despite_string_numbers(client: FortnoxClient) -> None:
    invoice = client.invoices.create(_invoice())
    assert invoice.CurrencyRate == Decimal(1)  # sent as the string "1"
    assert invoice.Credit is False  # sent as the string "false"
    assert invoice.Net == Decimal("200.50")
    assert invoice.TotalVAT == Decimal("50.13")
    assert invoice.Total == Decimal(251)  # rounded to whole kronor, as Fortnox does for SEK
    assert invoice.RoundOff == Decimal("0.37")
    assert invoice.InvoiceRows[0].DeliveredQuantity == Decimal("2.00")


def test_action_put_with_empty_body_sends_json_content_type(scene: Scene, client: FortnoxClient) -> None:
    invoice = client.invoices.create(_invoice())
    raw = httpx.put(
        f"{scene.url}/3/invoices/{invoice.DocumentNumber}/bookkeep",
        headers={"Authorization": f"Bearer {scene.token()}"},
    )
    assert raw.json()["ErrorInformation"]["code"] == 1000031
    booked = client.invoices.bookkeep(invoice.DocumentNumber or "")
    assert booked.Booked is True


# -- paging ---------------------------------------------------------------------------------------------------
def test_a_list_of_1234_is_paged_completely(scene: Scene, client: FortnoxClient) -> None:
    scene.control.bulk_customers(scene.tenant_id, 1233)
    customers = list(client.customers.list())
    assert len(customers) == 1234
    assert len({customer.CustomerNumber for customer in customers}) == 1234
    pages = [
        row
        for row in scene.control.requests(scene.tenant_id)
        if row["path"] == "/3/customers" and row["method"] == "GET"
    ]
    assert [row["query"] for row in pages] == ["limit=500&page=1", "limit=500&page=2", "limit=500&page=3"]


def test_a_list_that_changes_while_read_is_refused(scene: Scene) -> None:
    def fortnox(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        rows = [{"CustomerNumber": str(page)}]
        return httpx.Response(
            200,
            json={"MetaInformation": {"@TotalResources": 3, "@TotalPages": 2, "@CurrentPage": page}, "Customers": rows},
        )

    client = FortnoxClient(
        base_url="http://127.0.0.1:9",
        tokens=_Static(),
        rate_limiter=NoRateLimit(),
        http=httpx.Client(transport=httpx.MockTransport(fortnox)),
    )
    with pytest.raises(errors.FortnoxUnexpectedResponse, match="announced 3"):
        list(client.customers.list())


class _Static:
    def access_token(self) -> str:
        return "token"

    def invalidate(self, token: str) -> None:
        pass


# -- retries --------------------------------------------------------------------------------------------------
def test_429_then_success_is_retried(scene: Scene, client: FortnoxClient) -> None:
    scene.control.fault("429", count=2, path_prefix="/3/companyinformation")
    company = client.company_information.get()
    assert company.CompanyName == "Sandlådan Åkeri AB"
    statuses = [
        row["status"] for row in scene.control.requests(scene.tenant_id) if row["path"] == "/3/companyinformation"
    ]
    assert statuses == [429, 429, 200]


def test_429_on_a_create_is_retried_because_fortnox_did_nothing(scene: Scene, client: FortnoxClient) -> None:
    scene.control.fault("429", count=1, method="POST", path_prefix="/3/invoices")
    client.invoices.create(_invoice())
    assert len(scene.control.company(scene.tenant_id)["invoices"]) == 1


def test_5xx_is_retried_for_a_read(scene: Scene, client: FortnoxClient) -> None:
    scene.control.fault("500", count=1, path_prefix="/3/companyinformation")
    assert client.company_information.get().DatabaseNumber == scene.tenant_id


def test_5xx_on_a_create_is_not_retried(scene: Scene, client: FortnoxClient) -> None:
    scene.control.fault("500", count=1, method="POST", path_prefix="/3/invoices")
    with pytest.raises(errors.FortnoxServerError):
        client.invoices.create(_invoice())
    posts = [
        row
        for row in scene.control.requests(scene.tenant_id)
        if row["method"] == "POST" and row["path"] == "/3/invoices"
    ]
    assert len(posts) == 1


def test_a_create_that_times_out_is_not_retried_and_says_it_may_have_committed(scene: Scene) -> None:
    client = scene.client(timeout=0.5)
    client.customers.create(CustomerWrite(Name="Acme AB"))
    scene.control.fault("timeout", count=1, method="POST", path_prefix="/3/invoices", delay_seconds=1.0)
    with pytest.raises(errors.FortnoxTransportError) as caught:
        client.invoices.create(_invoice())
    assert caught.value.maybe_committed is True
    time.sleep(0.6)
    posts = [
        row
        for row in scene.control.requests(scene.tenant_id)
        if row["method"] == "POST" and row["path"] == "/3/invoices"
    ]
    assert len(posts) == 1


def test_a_read_that_times_out_is_retried(scene: Scene) -> None:
    client = scene.client(timeout=0.3)
    scene.control.fault("timeout", count=1, path_prefix="/3/companyinformation", delay_seconds=0.6)
    assert client.company_information.get().DatabaseNumber == scene.tenant_id


def test_a_dropped_response_after_commit_leaves_the_invoice_in_fortnox(scene: Scene, client: FortnoxClient) -> None:
    scene.control.fault("drop_after_commit", count=1, method="POST", path_prefix="/3/invoices")
    with pytest.raises(errors.FortnoxTransportError) as caught:
        client.invoices.create(_invoice(ExternalInvoiceReference1="bridge:t1:100353"))
    assert caught.value.maybe_committed
    found = [row for row in client.invoices.list(externalinvoicereference1="bridge:t1:100353")]
    assert [row.ExternalInvoiceReference1 for row in found] == ["bridge:t1:100353"]


def test_a_401_gets_one_fresh_token_and_succeeds(scene: Scene) -> None:
    good = scene.token()

    class Rotating:
        def __init__(self) -> None:
            self.current = "expired-token"
            self.invalidated: list[str] = []

        def access_token(self) -> str:
            return self.current

        def invalidate(self, token: str) -> None:
            self.invalidated.append(token)
            self.current = good

    tokens = Rotating()
    client = FortnoxClient(
        base_url=scene.url, tokens=tokens, rate_limiter=NoRateLimit(), retry=RetryPolicy(base_delay=0.01)
    )
    assert client.company_information.get().DatabaseNumber == scene.tenant_id
    assert tokens.invalidated == ["expired-token"]
