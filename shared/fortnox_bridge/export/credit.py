"""A full credit with Fortnox's own /credit, once."""

import uuid

from fortnox_bridge.contracts.invoices import (
    InvoiceCredited,
)
from fortnox_bridge.errors import BadInputError, NeedsTenantActionError, RetryableError
from fortnox_bridge.export.explanations import (
    AwaitingInvoice,
    credit_of_a_credit_note,
    exported_as_order,
    not_ours,
    partly_credited,
)
from fortnox_bridge.export.outcome import Outcome
from fortnox_bridge.export.references import credit_reference, export_reference, is_ours
from fortnox_bridge.export.stores import LEASE, ExportStores
from fortnox_bridge.fortnox.client import FortnoxClient
from fortnox_bridge.fortnox.errors import FortnoxRateLimited
from fortnox_bridge.fortnox.retry import IN_DOUBT
from fortnox_bridge.store.ledger import ExportScope, ExportState, LedgerEntry
from fortnox_bridge.store.tenants import Tenant


class FullCredit:
    """A full credit with Fortnox's own /credit, once: the original then names its credit invoice."""

    def __init__(
        self,
        stores: ExportStores,
        client: FortnoxClient,
        tenant: Tenant,
        scope: ExportScope,
        event: InvoiceCredited,
    ) -> None:
        self.stores = stores
        self.client = client
        self.tenant = tenant
        self.scope = scope
        self.event = event
        self.owner = f"credit-{uuid.uuid4()}"

    def run(self) -> Outcome:
        number = self.event.data.invoice_number
        original = self.stores.ledger.get(self.scope, "invoice", number)
        if original is not None and original.form == "order" and original.fortnox_id:
            raise exported_as_order(number, original.fortnox_id)
        if original is None or original.fortnox_id is None:
            if self.stores.ledger.get(self.scope, "credit_note", number) is not None:
                raise credit_of_a_credit_note(number)  # exported, so waiting for "the invoice" is in vain
            raise AwaitingInvoice(number)
        entry = self.stores.ledger.claim(self.scope, "credit", number, owner=self.owner, lease=LEASE)
        if entry.state is ExportState.CONFIRMED and entry.lease_owner != self.owner and entry.fortnox_id:
            return Outcome("credit", number, entry.fortnox_id, "unchanged")
        try:
            self._refuse_after_credit_notes(original)
            credit_number = self._credit(number, original.fortnox_id, entry)
        except (NeedsTenantActionError, BadInputError) as error:
            self.stores.ledger.mark(entry, ExportState.FAILED, owner=self.owner, error=str(error)[:1000])
            raise
        except Exception:
            # As for documents: a worker that stopped acts no more, and the entry says what may have happened.
            self.stores.ledger.release(entry, owner=self.owner)
            raise
        self.stores.ledger.mark(entry, ExportState.CONFIRMED, owner=self.owner, fortnox_id=credit_number)
        return Outcome("credit", number, credit_number, "created")

    def _refuse_after_credit_notes(self, original: LedgerEntry) -> None:
        """A full credit takes back the whole invoice: after a credit note took back part of it, that credits the
        customer more than was invoiced. The rest is for another credit note, which says how much."""
        notes = self.stores.ledger.live_credit_notes(original)
        if notes:
            raise partly_credited(original.business_key, [note.business_key for note in notes])

    def _credit(self, upstream: str, fortnox_id: str, entry: LedgerEntry) -> str:
        invoice = self.client.invoices.get(fortnox_id)
        if not is_ours(invoice, export_reference(self.tenant.tenant_id, upstream), credit=False):
            raise not_ours(upstream, fortnox_id)
        already = credit_reference(invoice.CreditInvoiceReference)
        if already is not None:
            return already
        self.stores.ledger.mark(entry, ExportState.SENT, owner=self.owner)
        try:
            credited = self.client.invoices.credit(fortnox_id)
        except FortnoxRateLimited:
            self.stores.ledger.mark(entry, ExportState.CLAIMED, owner=self.owner)
            raise
        except IN_DOUBT:
            # Fortnox may have credited it: the invoice names its credit invoice if so.
            found = credit_reference(self.client.invoices.get(fortnox_id).CreditInvoiceReference)
            if found is None:
                raise
            return found
        made = credit_reference(credited.CreditInvoiceReference)
        if made is None:
            raise RetryableError("Fortnox answered the credit without naming the credit invoice")
        return made
