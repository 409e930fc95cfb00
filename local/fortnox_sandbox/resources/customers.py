"""Customers (/3/customers): the defaults Fortnox fills, its field checks, numbering and list shape."""

from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Response

from fortnox_sandbox import codes
from fortnox_sandbox.errors import ApiError
from fortnox_sandbox.http_util import ApiContext, ApiRoute, check_length, host, one, wrapped
from fortnox_sandbox.listing import any_case, matching, modified_since, only_status, page, sort
from fortnox_sandbox.records import touch
from fortnox_sandbox.state import Company, Record, SandboxState

CUSTOMER_DEFAULTS: Record = {
    "Address1": None,
    "Address2": None,
    "City": None,
    "Country": None,
    "Comments": None,
    "Currency": "SEK",
    "CostCenter": None,
    "CountryCode": None,
    "Active": True,
    "DefaultDeliveryTypes": {"Invoice": "PRINT", "Order": "PRINT", "Offer": "PRINT"},
    "DefaultTemplates": {
        "Order": "DEFAULTTEMPLATE",
        "Offer": "DEFAULTTEMPLATE",
        "Invoice": "DEFAULTTEMPLATE",
        "CashInvoice": "DEFAULTTEMPLATE",
    },
    "DeliveryAddress1": None,
    "DeliveryAddress2": None,
    "DeliveryCity": None,
    "DeliveryCountry": None,
    "DeliveryCountryCode": None,
    "DeliveryFax": None,
    "DeliveryName": None,
    "DeliveryPhone1": None,
    "DeliveryPhone2": None,
    "DeliveryZipCode": None,
    "Email": "",
    "EmailInvoice": "",
    "EmailInvoiceBCC": "",
    "EmailInvoiceCC": "",
    "EmailOffer": "",
    "EmailOfferBCC": "",
    "EmailOfferCC": "",
    "EmailOrder": "",
    "EmailOrderBCC": "",
    "EmailOrderCC": "",
    "ExternalReference": None,
    "Fax": None,
    "GLN": None,
    "GLNDelivery": None,
    "InvoiceAdministrationFee": None,
    "InvoiceDiscount": None,
    "InvoiceFreight": None,
    "InvoiceRemark": "",
    "Name": "",
    "OrganisationNumber": "",
    "OurReference": "",
    "Phone1": None,
    "Phone2": None,
    "PriceList": "A",
    "Project": "",
    "SalesAccount": None,
    "ShowPriceVATIncluded": False,
    "TermsOfDelivery": "",
    "TermsOfPayment": "",
    "Type": "COMPANY",
    "VATNumber": "",
    "VATType": "SEVAT",
    "VisitingAddress": None,
    "VisitingCity": None,
    "VisitingCountry": None,
    "VisitingCountryCode": None,
    "VisitingZipCode": None,
    "WayOfDelivery": "",
    "WWW": "",
    "YourReference": "",
    "ZipCode": None,
}
CUSTOMER_LIMITS = {
    "Name": 1024,
    "OurReference": 50,
    "YourReference": 50,
    "ZipCode": 10,
    "CountryCode": 2,
    "Currency": 3,
}
LIST_FIELDS = (
    "Address1",
    "Address2",
    "City",
    "CustomerNumber",
    "Email",
    "Name",
    "OrganisationNumber",
    "Phone",
    "ZipCode",
)


# Fortnox names the country in Swedish from a customer's CountryCode (customers/save_new_with_country_code_SE.yml:
# "SE" -> "Sverige"). Only SE is recorded; the other names are Fortnox's Swedish country names as its UI shows them.
COUNTRY_NAMES = {
    "SE": "Sverige",
    "NO": "Norge",
    "DK": "Danmark",
    "FI": "Finland",
    "IS": "Island",
    "DE": "Tyskland",
    "GB": "Storbritannien",
    "US": "USA",
    "NL": "Nederländerna",
    "FR": "Frankrike",
}


def _stored(payload: Record) -> Record:
    """The payload as Fortnox stores it: ``Country`` named from ``CountryCode``, ``SalesAccount`` a number."""
    values = dict(payload)
    code = values.get("CountryCode")
    if code and "Country" not in values and str(code).upper() in COUNTRY_NAMES:
        values["Country"] = COUNTRY_NAMES[str(code).upper()]
    account = values.get("SalesAccount")
    if account not in (None, ""):
        if not str(account).isdigit():
            raise ApiError(codes.NOT_NUMERIC, field="SalesAccount")
        # customers/save_new_with_sales_account.yml: "3001" sent, 3001 answered.
        values["SalesAccount"] = int(account)
    return values


def _check_customer(company: Company, payload: Record) -> None:
    check_length(payload, CUSTOMER_LIMITS)
    if payload.get("VATType") not in (None, "SEVAT", "SEREVERSEDVAT", "EUREVERSEDVAT", "EUVAT", "EXPORT"):
        raise ApiError(codes.INVALID_VALUE, field="VATType")
    if payload.get("Type") not in (None, "PRIVATE", "COMPANY"):
        raise ApiError(codes.INVALID_VALUE, field="Type")
    currency = payload.get("Currency")
    if currency is not None and currency not in company.currencies:
        raise ApiError(codes.CURRENCY_NOT_FOUND)


def create_customer(state: SandboxState, company: Company, payload: Record, *, host: str) -> Record:
    if not str(payload.get("Name") or "").strip():
        raise ApiError(codes.FIELD_REQUIRED, field="Name")
    _check_customer(company, payload)
    number = payload.get("CustomerNumber")
    if number is not None and str(number).strip():
        number = str(number)
        if number in company.used_customer_numbers:
            raise ApiError(codes.CUSTOMER_NUMBER_USED, number=number)
    else:
        number = str(company.next_number("customer", company.used_customer_numbers))
    customer = {
        **CUSTOMER_DEFAULTS,
        **_stored(payload),
        "CustomerNumber": number,
        "@url": f"{host}/3/customers/{number}",
    }
    company.used_customer_numbers.add(number)
    company.customers[number] = touch(state, customer)
    return customer


def update_customer(state: SandboxState, company: Company, number: str, payload: Record) -> Record:
    customer = company.customers.get(number)
    if customer is None:
        raise ApiError(codes.CUSTOMER_NOT_FOUND)
    _check_customer(company, payload)
    if payload.get("CustomerNumber") not in (None, number):
        raise ApiError(codes.INVALID_VALUE, field="CustomerNumber")
    customer.update(_stored(payload))
    return touch(state, customer)


def customer_list_item(customer: Record) -> Record:
    item = {"@url": customer["@url"], **{field: customer.get(field) for field in LIST_FIELDS}}
    item["Phone"] = customer.get("Phone1") or ""
    for field in ("Address1", "Address2", "City", "Email", "OrganisationNumber", "ZipCode"):
        item[field] = item[field] or ""
    return item


# -- routes --------------------------------------------------------------------------------------------------------
# Search parameters of GET /3/customers (openapi.json list_15), all case-insensitive and found anywhere in the
# field: name=Test finds "Test customer" (customers/search_by_name.yml), city with zipcode narrows
# (multi_param_find_by_hash.yml).
CUSTOMER_SEARCH = {
    "customernumber": "CustomerNumber",
    "name": "Name",
    "zipcode": "ZipCode",
    "city": "City",
    "email": "Email",
    "phone": "Phone1",
    "organisationnumber": "OrganisationNumber",
    "gln": "GLN",
    "glndelivery": "GLNDelivery",
}
CUSTOMER_FILTERS: dict[str, Callable[[Record], bool]] = {
    "active": lambda row: bool(row["Active"]),
    "inactive": lambda row: not row["Active"],
}
CUSTOMER_SORT: dict[str, Callable[[Record], Any]] = {
    "customernumber": lambda row: (len(row["CustomerNumber"]), row["CustomerNumber"]),
    "name": lambda row: str(row.get("Name") or "").casefold(),
}


def _list_customers(ctx: ApiContext) -> Response:
    rows = sorted(ctx.company.customers.values(), key=CUSTOMER_SORT["customernumber"])
    rows = only_status(ctx, rows, CUSTOMER_FILTERS)
    rows = sort(ctx, modified_since(ctx, matching(ctx, rows, CUSTOMER_SEARCH, any_case)), CUSTOMER_SORT)
    return page(ctx, "Customers", [customer_list_item(row) for row in rows])


def _get_customer(ctx: ApiContext, number: str) -> Response:
    customer = ctx.company.customers.get(number)
    if customer is None:
        raise ApiError(codes.CUSTOMER_NOT_FOUND)
    if customer["SalesAccount"] is not None:
        # Read back, the account is a string, though the create answered a number
        # (customers/find_with_sales_account.yml "3001" after save_new_with_sales_account.yml 3001).
        customer = {**customer, "SalesAccount": str(customer["SalesAccount"])}
    return one("Customer", customer)


def _create_customer(ctx: ApiContext) -> Response:
    customer = create_customer(ctx.state, ctx.company, wrapped(ctx.request, "Customer"), host=host(ctx))
    return one("Customer", customer, 201)


def _update_customer(ctx: ApiContext, number: str) -> Response:
    return one("Customer", update_customer(ctx.state, ctx.company, number, wrapped(ctx.request, "Customer")))


def _delete_customer(ctx: ApiContext, number: str) -> Response:
    if ctx.company.customers.pop(number, None) is None:
        raise ApiError(codes.CUSTOMER_NOT_FOUND)
    return Response(status=204)


ROUTES: list[ApiRoute] = [
    ApiRoute("GET", "/3/customers", "customer", _list_customers),
    ApiRoute("POST", "/3/customers", "customer", _create_customer),
    ApiRoute("GET", "/3/customers/<number>", "customer", _get_customer),
    ApiRoute("PUT", "/3/customers/<number>", "customer", _update_customer),
    ApiRoute("DELETE", "/3/customers/<number>", "customer", _delete_customer),
]
