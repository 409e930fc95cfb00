"""Everything the sandbox remembers: apps, consents, tokens, companies and their books."""

import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from fortnox_sandbox import seed

Record = dict[str, Any]


@dataclass
class App:
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    service_account_allowed: bool = True


@dataclass
class Consent:
    client_id: str
    tenant_id: int
    scopes: frozenset[str]
    service_account: bool
    revoked: bool = False


@dataclass
class AuthCode:
    client_id: str
    tenant_id: int
    scopes: frozenset[str]
    redirect_uri: str | None
    service_account: bool
    expires_at: float
    used: bool = False


@dataclass
class RefreshToken:
    client_id: str
    tenant_id: int
    scopes: frozenset[str]
    expires_at: float
    used: bool = False
    revoked: bool = False


@dataclass
class Fault:
    kind: str  # "500", "429", "timeout", "drop_after_commit", "500_after_commit"
    remaining: int
    method: str | None = None
    path_prefix: str | None = None
    tenant_id: int | None = None
    delay_seconds: float = 0.0

    def matches(self, method: str, path: str, tenant_id: int | None) -> bool:
        return (
            self.remaining > 0
            and (self.method is None or self.method == method)
            and (self.path_prefix is None or path.startswith(self.path_prefix))
            and (self.tenant_id is None or tenant_id is None or self.tenant_id == tenant_id)
        )


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: str
    status: int
    tenant_id: int | None
    client_id: str | None
    time: float
    request_body: bytes = b""
    request_content_type: str = ""
    response_body: bytes = b""
    grant_type: str | None = None
    """The token endpoint's ``grant_type``; None for every other request."""


@dataclass
class Company:
    tenant_id: int
    name: str
    organisation_number: str
    address: str = "Storgatan 1"
    zip_code: str = "111 22"
    city: str = "Stockholm"
    financial_years: list[Record] = field(default_factory=list)
    accounts: dict[int, dict[int, Record]] = field(default_factory=dict)
    cost_centers: dict[str, Record] = field(default_factory=dict)
    projects: dict[str, Record] = field(default_factory=dict)
    articles: dict[str, Record] = field(default_factory=dict)
    voucher_series: dict[str, Record] = field(default_factory=dict)
    currencies: dict[str, Record] = field(default_factory=dict)
    locked_until: date | None = None
    customers: dict[str, Record] = field(default_factory=dict)
    used_customer_numbers: set[str] = field(default_factory=set)
    invoices: dict[str, Record] = field(default_factory=dict)
    orders: dict[str, Record] = field(default_factory=dict)
    vouchers: dict[tuple[int, str, int], Record] = field(default_factory=dict)
    payments: dict[str, Record] = field(default_factory=dict)
    inbox: dict[str, Record] = field(default_factory=dict)
    attachments: dict[str, Record] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)

    def next_number(self, series: str, taken: set[str] | None = None) -> int:
        """Fortnox numbers documents in a series, skipping numbers a caller chose itself."""
        number = self.counters.get(series, 0) + 1
        while taken is not None and str(number) in taken:
            number += 1
        self.counters[series] = number
        return number

    def year_for(self, day: date) -> Record | None:
        for year in self.financial_years:
            if year["FromDate"] <= day.isoformat() <= year["ToDate"]:
                return year
        return None

    def year_by_id(self, year_id: int) -> Record | None:
        return next((year for year in self.financial_years if year["Id"] == year_id), None)


def new_company(tenant_id: int, name: str, organisation_number: str, today: date) -> Company:
    company = Company(tenant_id=tenant_id, name=name, organisation_number=organisation_number)
    seeded = f"{today.isoformat()} 00:00:00"  # registers' ``lastmodified``: the company was set up this morning
    for index, (start, end) in enumerate(seed.calendar_years(today), start=1):
        company.financial_years.append(
            {
                "Id": index,
                "FromDate": start.isoformat(),
                "ToDate": end.isoformat(),
                "AccountChartType": "BAS 2024",
                "AccountingMethod": "ACCRUAL",
            }
        )
        company.accounts[index] = {
            number: {
                "Number": number,
                "Description": description,
                "Active": number not in seed.INACTIVE_ACCOUNTS,
                "Year": index,
                "VATCode": vat_code or None,
                "SRU": sru,
                "CostCenterSettings": "MANDATORY" if number in seed.COST_CENTER_MANDATORY_ACCOUNTS else "ALLOWED",
                "ProjectSettings": "ALLOWED",
                "BalanceBroughtForward": Decimal("0.00"),
                "CostCenter": None,
                "Project": None,
                "_modified": seeded,
            }
            for number, description, vat_code, sru in seed.BAS_ACCOUNTS
        }
    company.cost_centers = {
        code: {"Code": code, "Description": description, "Active": active, "Note": None, "_modified": seeded}
        for code, description, active in seed.COST_CENTERS
    }
    company.projects = {
        number: {
            "ProjectNumber": number,
            "Description": description,
            "Status": status,
            "StartDate": None,
            "EndDate": None,
            "ProjectLeader": None,  # null, as recorded in projects/find_id_1.yml
            "ContactPerson": None,
            "Comments": None,
        }
        for number, description, status in seed.PROJECTS
    }
    company.voucher_series = {
        code: {"Code": code, "Description": description, "Manual": manual, "Approver": None, "_modified": seeded}
        for code, description, manual in seed.VOUCHER_SERIES
    }
    company.currencies = {
        code: {
            "Code": code,
            "Description": description,
            "BuyRate": buy,
            "SellRate": sell,
            "Unit": Decimal(1),
            "Date": today.isoformat(),
            "IsAutomatic": False,
        }
        for code, description, buy, sell in seed.CURRENCIES
    }
    return company


class SandboxState:
    """All mutable state, guarded by one lock: the sandbox is a test double, not a throughput engine."""

    ACCESS_TOKEN_SECONDS = 3600
    REFRESH_TOKEN_SECONDS = 45 * 24 * 3600
    AUTH_CODE_SECONDS = 600

    def __init__(self, *, rate_limit: int = 25, rate_window_seconds: float = 5.0) -> None:
        self.lock = threading.RLock()
        self.signing_key = secrets.token_bytes(32)
        self.rate_limit = rate_limit
        self.rate_window_seconds = rate_window_seconds
        self.issued: list[str] = []
        """Every token ever handed out, kept across resets, so tests can prove none of them reached a log."""
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.clock_offset = 0.0
            self.apps: dict[str, App] = {}
            self.consents: dict[tuple[str, int], Consent] = {}
            self.codes: dict[str, AuthCode] = {}
            self.refresh_tokens: dict[str, RefreshToken] = {}
            self.revoked_access: set[str] = set()
            self.companies: dict[int, Company] = {}
            self.faults: list[Fault] = []
            self.requests: list[LoggedRequest] = []
            self.windows: dict[tuple[str, int], deque[float]] = {}
            self.signing_key = secrets.token_bytes(32)

    def now(self) -> float:
        return time.time() + self.clock_offset

    def today(self) -> date:
        return datetime.fromtimestamp(self.now(), UTC).date()

    def timestamp(self) -> str:
        """Fortnox's date-time format for ``lastmodified``."""
        return datetime.fromtimestamp(self.now(), UTC).strftime("%Y-%m-%d %H:%M:%S")

    def company(self, tenant_id: int) -> Company:
        return self.companies[tenant_id]

    def take_fault(self, method: str, path: str, tenant_id: int | None) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.matches(method, path, tenant_id):
                    fault.remaining -= 1
                    return Fault(fault.kind, 1, delay_seconds=fault.delay_seconds)
            return None

    def admit(self, client_id: str, tenant_id: int) -> bool:
        """Fortnox's sliding window: at most ``rate_limit`` accepted requests in any window."""
        with self.lock:
            window = self.windows.setdefault((client_id, tenant_id), deque())
            now = time.monotonic()
            while window and window[0] <= now - self.rate_window_seconds:
                window.popleft()
            if len(window) >= self.rate_limit:
                return False
            window.append(now)
            return True
