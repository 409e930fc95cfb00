"""Fortnox error codes and messages the sandbox answers with.

Sourced codes carry their source (FACTS.md section 4 and the seeds). Where no public source gives a code, the
sandbox uses one marked UNVERIFIED: the bridge must never branch on those numbers, only on the status and on what
it reads back from the API.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Code:
    number: int
    message: str
    status: int = 400


# Sourced.
CUSTOMER_NOT_FOUND = Code(2000433, "Kan inte hitta kunden.", 404)  # recorded customers__find_failure.json
INVOICE_NOT_FOUND = Code(2000434, "Kan inte hitta fakturan.", 404)  # recorded (FACTS 4.1)
ORDER_NOT_FOUND = Code(2000439, "Kan inte hitta ordern.", 404)  # recorded (FACTS 4.2)
PROJECT_NOT_FOUND = Code(2001161, "Kan inte hitta projektet.", 404)  # recorded (FACTS 4.2)
ARTICLE_NOT_FOUND = Code(2000428, "Kan inte hitta artikeln.", 404)  # recorded articles/find_failure.yml
# On a document row: official table (FACTS 4, "2001302, 2000428 article not found"); message as sharespine quotes it.
ARTICLE_NOT_FOUND_ON_ROW = Code(2001302, "Kunde inte hitta artikel.")
ACCOUNT_NOT_FOUND = Code(2000423, "Kan inte hitta kontot.", 404)  # official example
CUSTOMER_NUMBER_USED = Code(
    2000637, "Kundnummer {number} används redan. Kundnumret kan ha använts av en kund som tagits bort."
)
CURRENCY_NOT_FOUND = Code(2000427, "Kan inte hitta valutan.")  # notima ERROR_CANT_FIND_CURRENCY
ACCOUNT_MISSING = Code(2001798, "Konto {account} saknas i kontoplanen.")  # seed 004 (BRP)
ACCOUNT_INACTIVE = Code(2000550, "Konto {account} är inte aktivt.")  # seed 004 (BRP)
COST_CENTER_MISSING = Code(2000548, 'Angivet kostnadsställe "{code}" existerar inte.')  # seed 004
COST_CENTER_INACTIVE = Code(2002821, 'Angivet kostnadsställe "{code}" är inte aktivt.')  # seed 004
COST_CENTER_MANDATORY = Code(2000946, "Kostnadsställe är obligatoriskt på konto: {account}")  # seed 004
SERIES_NOT_MANUAL = Code(2001940, "Verifikationsserien är inte manuell ({series}).")  # seed 004
# Code from sharespine helpdesk "Fortnox error 2001897" (fewer than two voucher lines); message UNVERIFIED.
VOUCHER_TOO_FEW_ROWS = Code(2001897, "En verifikation måste ha minst två rader.")
PERIOD_LOCKED = Code(2000401, "Användaren har låst perioden t.o.m. {date}.")  # sharespine help page
MISSING_SCOPE = Code(2000663, "Har inte behörighet för scope.", 403)  # official table (Rust transcription)
INVALID_CONTENT_TYPE = Code(1000031, "Ogiltig content type.")  # official table; resultify
INVALID_FILTER = Code(2000587, "Ett ogiltigt filter har använts.")  # recorded
HOUSEWORK_WRONG_REDUCTION = Code(
    2004021, "Dokument med skattereduktionstypen '{reduction}' får inte innehålla rader med husarbetestypen '{type}'."
)  # recorded orders/housework_invalid_tax_reduction_type.yml
HOUSEWORK_OTHER_COSTS = Code(
    2002980, "Kan inte sätta typen övrig kostnad på en rad markerad som husarbete."
)  # recorded orders/housework_othercoses_invalid.yml
HOUSEWORK_EXPIRED = Code(
    2003157, "Skattereduktion för den valda typen av husarbete har upphört."
)  # recorded orders/housework_type_cooking.yml, _tutoring.yml
INVALID_JSON = Code(2002115, "JSON kunde inte tolkas.")  # official table
EMPTY_BODY = Code(2001392, "Tom eller felaktig request body.")  # official table
INVALID_FIELD = Code(2001399, "Ogiltigt fältnamn: {field}.")  # official table
INVALID_PARAMETER = Code(2000588, "Ogiltig parameter: {field}.")  # official table
NOT_FINALISED = Code(2003498, "Fakturan {number} måste vara klarmarkerad innan den kan bokföras.")  # sharespine

# UNVERIFIED: behaviour documented by integrators, code not found in any public source.
INVOICE_BOOKED = Code(2000700, "Faktura {number} är bokförd och kan inte ändras.")
INVOICE_CANCELLED = Code(2000701, "Faktura {number} är makulerad och kan inte ändras.")
INVOICE_ALREADY_CREDITED = Code(2000702, "Faktura {number} är redan krediterad.")
DOCUMENT_NUMBER_USED = Code(2000703, "Dokumentnummer {number} används redan.")
ORDER_ALREADY_INVOICED = Code(2000704, "Order {number} är redan fakturerad.")
NO_FINANCIAL_YEAR = Code(2000705, "Det finns inget räkenskapsår för datumet {date}.")
VOUCHER_UNBALANCED = Code(2000706, "Verifikationen är inte i balans (debet {debit}, kredit {credit}).")
SERIES_NOT_FOUND = Code(2000707, "Kan inte hitta verifikationsserien {series}.")
VOUCHER_NOT_FOUND = Code(2000708, "Kan inte hitta verifikationen.", 404)
PAYMENT_NOT_FOUND = Code(2000709, "Kan inte hitta inbetalningen.", 404)
PAYMENT_BOOKED = Code(2000710, "Inbetalningen är bokförd och kan inte ändras.")
INVALID_VAT = Code(2000711, "Momssatsen {vat} finns inte.")
FIELD_REQUIRED = Code(2000712, "Fältet {field} är obligatoriskt.")
FIELD_TOO_LONG = Code(2000713, "Fältet {field} får vara högst {max} tecken.")
FINANCIAL_YEAR_NOT_FOUND = Code(2000714, "Kan inte hitta räkenskapsåret.", 404)
COST_CENTER_NOT_FOUND = Code(2000715, "Kan inte hitta kostnadsstället.", 404)
SERIES_NOT_FOUND_404 = Code(2000716, "Kan inte hitta verifikationsserien.", 404)
RESOURCE_NOT_FOUND = Code(2000717, "Resursen finns inte.", 404)
CUSTOMER_NOT_FOUND_ON_WRITE = Code(2000433, "Kan inte hitta kunden.")
INVOICE_NOT_FOUND_ON_WRITE = Code(2000434, "Kan inte hitta fakturan.")
NOT_NUMERIC = Code(2000108, "Värdet måste vara numeriskt. ({field})")  # official table
INVOICE_NOT_BOOKED = Code(2000718, "Fakturan {number} är inte bokförd.")  # UNVERIFIED
INVALID_VALUE = Code(2000719, "Ogiltigt värde i fältet {field}.")  # UNVERIFIED
PROJECT_NOT_FOUND_ON_WRITE = Code(2001161, "Kan inte hitta projektet.")
ARTICLE_NUMBER_USED = Code(2000730, "Artikelnummer {number} används redan.")  # UNVERIFIED
PROJECT_NUMBER_USED = Code(2000731, "Projektnummer {number} används redan.")  # UNVERIFIED
# UNVERIFIED: the account settings NOTALLOWED / MANDATORY (FACTS.md 3.5) on rows; only the cost-centre MANDATORY
# case has a public code (2000946 above), so these mirror its wording under numbers of their own.
COST_CENTER_NOT_ALLOWED = Code(2000740, "Kostnadsställe får inte anges på konto: {account}")
PROJECT_MANDATORY = Code(2000741, "Projekt är obligatoriskt på konto: {account}")
PROJECT_NOT_ALLOWED = Code(2000742, "Projekt får inte anges på konto: {account}")
