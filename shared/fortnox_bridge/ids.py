"""Typed identifiers, so a tenant id is never passed where a Fortnox number is expected."""

import re
from typing import NewType

TenantId = NewType("TenantId", str)
"""Our tenant: the SaaS customer that connected one Fortnox company."""

FortnoxTenantId = NewType("FortnoxTenantId", int)
"""Fortnox's tenant id, equal to ``DatabaseNumber`` in company information."""

FortnoxClientId = NewType("FortnoxClientId", str)
FortnoxDocumentNumber = NewType("FortnoxDocumentNumber", str)
FortnoxCustomerNumber = NewType("FortnoxCustomerNumber", str)

TENANT_ID_PATTERN = r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9])?$"
"""What a tenant id may look like wherever one arrives from outside: a plain identifier that starts and ends with a
letter or digit, so ``.``, ``..`` and ``-`` never name a tenant, a secret or a key. Match it with ``fullmatch``:
Python's ``$`` also matches before a final newline (pydantic's Rust engine does not)."""


def is_tenant_id(text: str) -> bool:
    return re.fullmatch(TENANT_ID_PATTERN, text) is not None
