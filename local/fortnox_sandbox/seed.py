"""A realistic company to start from: a BAS 2024 subset, cost centres, projects, series, years, currencies."""

from datetime import date
from decimal import Decimal

# (number, description, VAT code, SRU). A subset of BAS that invoice and voucher exports actually touch.
BAS_ACCOUNTS: list[tuple[int, str, str, int]] = [
    (1510, "Kundfordringar", "", 7251),
    (1580, "Fordringar för kontokort och rabattkuponger", "", 7251),
    (1910, "Kassa", "", 7281),
    (1920, "PlusGiro", "", 7281),
    (1930, "Företagskonto / checkkonto / affärskonto", "", 7281),
    (1940, "Övriga bankkonton", "", 7281),
    (1950, "Bankcertifikat", "", 7281),
    (2420, "Förskott från kunder", "", 7368),
    (2421, "Ej inlösta presentkort", "", 7368),
    (2440, "Leverantörsskulder", "", 7368),
    (2610, "Utgående moms, 25 %", "MP1", 7369),
    (2611, "Utgående moms på försäljning inom Sverige, 25 %", "MP1", 7369),
    (2620, "Utgående moms, 12 %", "MP2", 7369),
    (2621, "Utgående moms på försäljning inom Sverige, 12 %", "MP2", 7369),
    (2630, "Utgående moms, 6 %", "MP3", 7369),
    (2631, "Utgående moms på försäljning inom Sverige, 6 %", "MP3", 7369),
    (2640, "Ingående moms", "", 7369),
    (2650, "Redovisningskonto för moms", "", 7369),
    (2890, "Övriga kortfristiga skulder", "", 7369),
    (3001, "Försäljning inom Sverige, 25 % moms", "MP1", 7410),
    (3002, "Försäljning inom Sverige, 12 % moms", "MP2", 7410),
    (3003, "Försäljning inom Sverige, 6 % moms", "MP3", 7410),
    (3004, "Försäljning inom Sverige, momsfri", "", 7410),
    (3041, "Försäljning tjänster inom Sverige, 25 % moms", "MP1", 7410),
    (3105, "Försäljning varor till land utanför EU", "", 7410),
    (3308, "Försäljning tjänster till annat EU-land", "", 7410),
    (3590, "Övriga fakturerade kostnader", "MP1", 7410),
    (3740, "Öres- och kronutjämning", "", 7410),
    (3960, "Valutakursvinster på fordringar och skulder av rörelsekaraktär", "", 7410),
    (4010, "Inköp material och varor", "", 7411),
    (5010, "Lokalhyra", "", 7513),
    (6570, "Bankkostnader", "", 7513),
    (7960, "Valutakursförluster på fordringar och skulder av rörelsekaraktär", "", 7513),
    (8310, "Ränteintäkter från omsättningstillgångar", "", 7416),
]

INACTIVE_ACCOUNTS = {1950}
"""BRP's seed names 1950 as the account a tenant forgot to activate."""

COST_CENTER_MANDATORY_ACCOUNTS: set[int] = set()

COST_CENTERS: list[tuple[str, str, bool]] = [
    ("STHLM", "Stockholm", True),
    ("GBG", "Göteborg", True),
    ("MLM", "Malmö", True),
    ("UND", "Under avveckling", False),
]

PROJECTS: list[tuple[str, str, str]] = [
    ("P100", "Kundprojekt Alfa", "ONGOING"),
    ("P200", "Kundprojekt Beta", "ONGOING"),
    ("P900", "Avslutat projekt", "COMPLETED"),
]

# Series B (customer invoices), C (payments) and F (supplier invoices) are system series and not manual.
VOUCHER_SERIES: list[tuple[str, str, bool]] = [
    ("A", "Redovisning", True),
    ("B", "Kundfakturor", False),
    ("C", "Kundinbetalningar", False),
    ("D", "Leverantörsfakturor", False),
    ("F", "Leverantörsbetalningar", False),
    ("K", "Kassa", True),
]

CURRENCIES: list[tuple[str, str, Decimal, Decimal]] = [
    ("SEK", "Svenska kronor", Decimal("1"), Decimal("1")),
    (
        "EUR",
        "Euro",
        Decimal("11.25"),
        Decimal("11.35"),
    ),
    ("USD", "US dollar", Decimal("10.40"), Decimal("10.50")),
    ("NOK", "Norska kronor", Decimal("0.98"), Decimal("1.00")),
    ("DKK", "Danska kronor", Decimal("1.50"), Decimal("1.52")),
    ("GBP", "Brittiska pund", Decimal("13.10"), Decimal("13.25")),
]

VAT_RATES = {Decimal(0), Decimal(6), Decimal(12), Decimal(25)}
VAT_ACCOUNTS = {Decimal(25): 2610, Decimal(12): 2620, Decimal(6): 2630}


def calendar_years(today: date) -> list[tuple[date, date]]:
    return [(date(year, 1, 1), date(year, 12, 31)) for year in (today.year - 1, today.year, today.year + 1)]
