"""Tenants: who our customers are and what we last learned about their Fortnox company."""

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Literal

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field, model_validator

from fortnox_bridge.errors import BadInputError
from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.store.ledger import FailureNotes
from fortnox_bridge.store.table import StoreBase, is_condition_failure, plain, tenant_key


class Feature(StrEnum):
    INVOICE_EXPORT = "invoice_export"
    VOUCHER_EXPORT = "voucher_export"
    PAYMENT_SYNC = "payment_sync"


class InvoiceExportSettings(BaseModel):
    """How this tenant wants invoices in Fortnox (seeds 000 Opter, 001 OPEN One, 003 Productive)."""

    model_config = ConfigDict(extra="forbid")

    numbering: Literal["fortnox", "upstream"] = "fortnox"
    """Who numbers invoices: Fortnox's own series, or the upstream number as DocumentNumber."""
    always_manual_correction: bool = False
    """Export credit notes as manual correction invoices: numbered upstream, not linked to the original."""
    create_orders: bool = False
    """Create a Fortnox order instead of an invoice, for collective invoicing."""
    bookkeep: bool = False
    send: Literal["none", "externalprint", "email"] = "none"
    """``email``: Fortnox e-mails the invoice; ``externalprint``: upstream sends it and Fortnox marks it sent."""
    attach_pdf: bool = True
    update_sent_invoices: bool = False
    """Apply a re-export to an invoice Fortnox has already sent (e-mail, external print). Off: such a change is
    refused with the reason, because the customer holds the version that was sent."""

    @model_validator(mode="after")
    def _manual_corrections_are_numbered_upstream(self) -> "InvoiceExportSettings":
        # Seed 000: a manual correction is worth its lost link only because upstream numbers it. With Fortnox
        # numbering it would be neither numbered upstream nor linked, and an upstream number among Fortnox's own
        # series could clash with a number Fortnox gives later.
        if self.always_manual_correction and self.numbering != "upstream":
            raise ValueError(
                "always_manual_correction needs numbering 'upstream': manual correction invoices are numbered "
                "upstream and not linked to the invoice they correct; with Fortnox numbering keep it off, and "
                "credit notes go as linked correction invoices numbered by Fortnox"
            )
        return self


class NotificationSettings(BaseModel):
    """Where the failure digest goes: one e-mail per interval at most, naming what failed and how to fix it."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=254, pattern=r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")
    """The bookkeeper's address (seed 004: "Recipient of info e-mails"); one address, nothing a header could
    carry besides it."""
    interval_minutes: int = Field(default=60, ge=15, le=7 * 24 * 60)
    language: Literal["sv", "en"] = "sv"


class PaymentSyncSettings(BaseModel):
    """How Fortnox payments flow back upstream (seed 002 Opter's filters, seed 003 Productive's one-way mirror). On
    while ``payment_sync`` is among the tenant's features."""

    model_config = ConfigDict(extra="forbid")

    interval_minutes: int = Field(default=15, ge=15, le=24 * 60)
    """How often this tenant's payments are polled; the schedule ticks every 15 minutes, so this is its floor."""
    ignore_payments_before: date | None = None
    """Seed 002 "Ignorera betalningar före": payments dated before this day are never sent upstream."""
    ignore_invoice_numbers_below: int = Field(default=0, ge=0)
    """Seed 002 "Ignorera nummer före": payments on Fortnox invoices numbered below this are never sent."""
    only_exported_invoices: bool = True
    """Only payments on invoices this bridge exported; off: every customer invoice payment in the company."""
    match_on: Literal["invoice_number", "ocr"] = "invoice_number"
    """For an invoice the bridge did not export, which Fortnox number upstream knows it by (seed 002: "invoice or
    OCR numbers must match"); an exported one is always matched to its upstream number."""
    webhook_url: str | None = Field(default=None, max_length=2048, pattern=r"^https?://[^\s]+$")
    """Also POST each payment event here, signed (``webhooks/``). Delivery refuses anything but https to a public
    address; the local stack alone allows loopback."""


class TenantSettings(BaseModel):
    """What a tenant has switched on and how its connection may be made. The export issues add their own."""

    model_config = ConfigDict(extra="forbid")

    features: list[Feature] = Field(default_factory=lambda: [Feature.INVOICE_EXPORT], min_length=1)
    service_account: bool = False
    """Connect links ask for a service account (account_type=service): no refresh token to lose."""
    allow_shared_fortnox_company: bool = False
    """Allow connecting a Fortnox company that another tenant already holds."""
    language: Literal["sv", "en"] = "sv"
    """Language of the hosted pages this tenant's users see."""
    invoice_export: InvoiceExportSettings = Field(default_factory=InvoiceExportSettings)
    notifications: NotificationSettings | None = None
    """Who is e-mailed about failed exports; nobody when unset."""
    payment_sync: PaymentSyncSettings = Field(default_factory=PaymentSyncSettings)


class UnknownTenant(BadInputError):
    """No tenant with that id."""


class CompanyProbe(BaseModel):
    """What a probe saw: enough to tell a tenant whether exports can work today."""

    company_name: str
    organisation_number: str | None
    fortnox_tenant_id: FortnoxTenantId
    financial_year_for_today: bool | None
    """None when the tenant did not grant bookkeeping, so the years cannot be read."""
    checked_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class Tenant(BaseModel):
    tenant_id: TenantId
    display_name: str = Field(min_length=1, max_length=200)
    settings: TenantSettings = Field(default_factory=TenantSettings)
    last_probe: CompanyProbe | None = None
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class TenantStore(StoreBase):
    def get(self, tenant: TenantId) -> Tenant | None:
        item = self._table.get_item(Key=tenant_key(tenant), ConsistentRead=True).get("Item")
        return Tenant.model_validate(plain(item)) if item else None

    def put(self, tenant: Tenant) -> None:
        self._table.put_item(Item={**tenant_key(tenant.tenant_id), **tenant.model_dump(mode="json")})

    def require(self, tenant: TenantId) -> Tenant:
        found = self.get(tenant)
        if found is None:
            raise UnknownTenant(f"no tenant {tenant}")
        return found

    def put_settings(self, tenant: TenantId, settings: TenantSettings) -> None:
        """Save the settings. Settings that carry a notification address note the tenant for the digest: an address
        added where there was none is then told what waits untold (the digest passed over the tenant while there was
        nobody to tell, and nothing else would bring back the exports that failed then, or a payment failure that
        lasts), and a save sent again after its note failed still notes it. A tenant with nothing untold costs one
        digest pass that settles it, and nothing told is told again."""
        try:
            self._table.update_item(
                Key=tenant_key(tenant),
                UpdateExpression="SET settings = :settings",
                ConditionExpression="attribute_exists(PK)",
                ExpressionAttributeValues={":settings": settings.model_dump(mode="json")},
            )
        except ClientError as error:
            if is_condition_failure(error):
                raise UnknownTenant(f"no tenant {tenant}") from None
            raise
        if settings.notifications is not None:
            # After the settings' write: a digest reading the tenant before it sees this note land after its own
            # reading, and so keeps the tenant waiting (``FailureNotes.settle``).
            FailureNotes(self._table).note(tenant, datetime.now(UTC))

    def record_probe(self, tenant: TenantId, probe: CompanyProbe) -> None:
        self._table.update_item(
            Key=tenant_key(tenant),
            UpdateExpression="SET last_probe = :probe",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeValues={":probe": probe.model_dump(mode="json")},
        )
