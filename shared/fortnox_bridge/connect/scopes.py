"""Which Fortnox scopes a tenant's features need (FACTS.md 1.8). Fortnox scopes are read and write alike."""

from fortnox_bridge.store.tenants import Feature

ALWAYS = frozenset({"companyinformation"})
BY_FEATURE: dict[Feature, frozenset[str]] = {
    # What the exporter calls: customers, invoices, orders (collective invoicing), and the PDF's inbox upload and
    # file connection; and the article register, which the mapping check reads to tell a tenant before the first
    # export that a mapped article is missing (2001302). Nothing more, because the consent page shows every scope.
    Feature.INVOICE_EXPORT: frozenset({"customer", "invoice", "order", "article", "inbox", "connectfile"}),
    Feature.VOUCHER_EXPORT: frozenset({"bookkeeping", "costcenter", "project", "settings", "inbox", "connectfile"}),
    Feature.PAYMENT_SYNC: frozenset({"payment", "invoice"}),
}


def scopes_for(features: list[Feature]) -> list[str]:
    wanted = set(ALWAYS)
    for feature in features:
        wanted |= BY_FEATURE[feature]
    return sorted(wanted)
