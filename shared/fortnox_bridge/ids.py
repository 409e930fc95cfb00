"""Typed identifiers, so a tenant id is never passed where a Fortnox number is expected."""

from typing import NewType

TenantId = NewType("TenantId", str)
"""Our tenant: the SaaS customer that connected one Fortnox company."""

FortnoxTenantId = NewType("FortnoxTenantId", int)
"""Fortnox's tenant id, equal to ``DatabaseNumber`` in company information."""

FortnoxClientId = NewType("FortnoxClientId", str)
FortnoxDocumentNumber = NewType("FortnoxDocumentNumber", str)
FortnoxCustomerNumber = NewType("FortnoxCustomerNumber", str)

TENANT_ID_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
"""What a tenant id may look like wherever one arrives from outside."""
