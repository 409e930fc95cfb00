"""Which Fortnox scopes a tenant's features need (FACTS.md 1.8). Fortnox scopes are read and write alike."""

from fortnox_bridge.store.tenants import Feature

ALWAYS = frozenset({"companyinformation"})
BY_FEATURE: dict[Feature, frozenset[str]] = {
    # What the exporter calls: customers, invoices, orders (collective invoicing), and the PDF's inbox upload and
    # file connection. Nothing more, because the consent page shows every scope asked for.
    Feature.INVOICE_EXPORT: frozenset({"customer", "invoice", "order", "inbox", "connectfile"}),
    Feature.VOUCHER_EXPORT: frozenset({"bookkeeping", "costcenter", "project", "settings", "inbox", "connectfile"}),
    Feature.PAYMENT_SYNC: frozenset({"payment", "invoice"}),
}


def scopes_for(features: list[Feature]) -> list[str]:
    wanted = set(ALWAYS)
    for feature in features:
        wanted |= BY_FEATURE[feature]
    return sorted(wanted)
