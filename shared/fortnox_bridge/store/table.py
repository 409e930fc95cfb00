"""Keys of the single table. Every entity's key is built here and nowhere else."""

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from fortnox_bridge.ids import FortnoxTenantId, TenantId

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

Key = dict[str, str]


def tenant_key(tenant: TenantId) -> Key:
    return {"PK": f"TENANT#{tenant}", "SK": "PROFILE"}


def connection_key(tenant: TenantId) -> Key:
    return {"PK": f"TENANT#{tenant}", "SK": "CONNECTION"}


def mapping_key(tenant: TenantId) -> Key:
    """The tenant's invoice mapping (``store/mappings.py``)."""
    return {"PK": f"TENANT#{tenant}", "SK": "MAPPING"}


def company_binding_key(company: FortnoxTenantId) -> Key:
    return {"PK": f"FORTNOXCOMPANY#{company}", "SK": "BINDING"}


def company_partition(tenant: TenantId, company: FortnoxTenantId) -> str:
    """Where a tenant's export state for one Fortnox company lives: a reconnect to another company starts clean."""
    return f"TENANT#{tenant}#CO#{company}"


def ledger_key(tenant: TenantId, company: FortnoxTenantId, kind: str, business_key: str) -> Key:
    return {"PK": company_partition(tenant, company), "SK": f"EXPORT#{kind}#{business_key}"}


def ledger_prefix() -> str:
    """Sort-key prefix of every export ledger entry in a company partition."""
    return "EXPORT#"


EXPORTED_INDEX = "GSI2"
"""A sparse index of the ledger entries that came to rest in Fortnox, by company and by when (keys only): the status
page's "recent exports" read it newest first (``ExportLedger.recent``). Nothing else is in it."""


def exported_index_keys(tenant: TenantId, company: FortnoxTenantId, at: str) -> Key:
    """GSI2 keys of a ledger entry exported at ``at`` (ISO UTC to the microsecond, so the keys sort as the times do),
    set in the write that sets its ``exported_at``."""
    return {"GSI2PK": company_partition(tenant, company), "GSI2SK": at}


def digest_key(tenant: TenantId) -> Key:
    """The tenant's failure digest: when it was last e-mailed, and whether failures wait to be told (GSI1)."""
    return {"PK": f"TENANT#{tenant}", "SK": "DIGEST"}


DIGEST_INDEX = "GSI1"
DIGEST_PENDING = "DIGEST_PENDING"
"""GSI1 partition of tenants with failures recorded since their last digest, sorted by when the first was noted."""


def customer_hash_key(tenant: TenantId, company: FortnoxTenantId, customer_number: str) -> Key:
    return {"PK": company_partition(tenant, company), "SK": f"CUSTOMER#{customer_number}"}


SETUP_PREFIX = "SETUP#YEAR#"
"""Sort-key prefix of the cached Fortnox setup of a company, one item per financial year (``store/setup_cache.py``)."""


def setup_key(tenant: TenantId, company: FortnoxTenantId, last_day: str) -> Key:
    """A financial year's cached setup, sorted by the year's last day (ISO): the year holding a date is the first
    item at or after it."""
    return {"PK": company_partition(tenant, company), "SK": f"{SETUP_PREFIX}{last_day}"}


def link_key(token_hash: str) -> Key:
    return {"PK": f"LINK#{token_hash}", "SK": "LINK"}


def link_generation_key(tenant: TenantId) -> Key:
    return {"PK": f"TENANT#{tenant}", "SK": "LINKGENERATION"}


def consent_state_key(nonce: str) -> Key:
    return {"PK": f"CONSENTSTATE#{nonce}", "SK": "STATE"}


def status_link_generation_key(tenant: TenantId) -> Key:
    """Status links carry the generation they were made in; moving it on revokes every one made before."""
    return {"PK": f"TENANT#{tenant}", "SK": "STATUSLINKGENERATION"}


REFRESH_INDEX = "GSI1"
REFRESH_DUE = "REFRESH_DUE"
"""GSI1 partition of user-consent connections, sorted by their last refresh, for the keep-alive."""


def lock_key(name: str) -> Key:
    return {"PK": f"LOCK#{name}", "SK": "LOCK"}


def is_condition_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


_KEY_ATTRIBUTES = frozenset({"PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK"})


def plain(item: dict[str, Any]) -> dict[str, Any]:
    """An item without its key attributes, ready for a pydantic model."""
    return {name: value for name, value in item.items() if name not in _KEY_ATTRIBUTES}


class StoreBase:
    def __init__(self, table: "Table") -> None:
        self._table = table


# -- voucher export (issue 10) --------------------------------------------------------------------------------------
def voucher_day_key(tenant: TenantId, company: FortnoxTenantId, day: str) -> Key:
    """The vouchers Fortnox held on one transaction date (ISO), as last listed (``vouchers/day_listing.py``)."""
    return {"PK": company_partition(tenant, company), "SK": f"VOUCHERDAY#{day}"}


# -- payment sync (issue 11) ----------------------------------------------------------------------------------------
def payment_sync_key(tenant: TenantId, company: FortnoxTenantId) -> Key:
    """A company's payment sync: its cursor, lease and last poll (``store/payment_sync.py``)."""
    return {"PK": company_partition(tenant, company), "SK": "PAYMENTSYNC"}


def payment_snapshot_key(tenant: TenantId, company: FortnoxTenantId, payment_number: str) -> Key:
    """What was last sent upstream of one Fortnox payment, to tell new, changed and removed apart."""
    return {"PK": company_partition(tenant, company), "SK": f"PAYMENT#{payment_number}"}


def payment_schedule_key(tenant: TenantId) -> Key:
    """When the tenant's next payment poll is due (``store/payment_schedule.py``), indexed in GSI1 while on."""
    return {"PK": f"TENANT#{tenant}", "SK": "PAYMENTSCHEDULE"}


PAYMENT_POLL_INDEX = "GSI1"
PAYMENT_POLL_DUE = "PAYMENT_POLL_DUE"
"""GSI1 partition of tenants with payment sync on, sorted by when their next poll is due (ISO, UTC)."""


def payment_invoice_key(tenant: TenantId, company: FortnoxTenantId, invoice_number: str) -> Key:
    """The payments known on one Fortnox invoice, to check a changed balance for deleted payments (payment sync)."""
    return {"PK": company_partition(tenant, company), "SK": f"PAYMENTINVOICE#{invoice_number}"}
