"""The demo's voucher story: a day's sales at two registers through the voucher queue and the real exporter; one
refused before any voucher call because its cost centre is inactive in Fortnox, explained, and e-mailed to the
bookkeeper by the failure digest; the cost centre activated in the sandbox, the failure replayed through the
management API, and both days booked."""

import json
import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from fortnox_sandbox.control_client import SandboxControl
from infra.names import ROOT
from local_stack.demo_exports import MAPPING
from local_stack.event_tap import EventTap
from local_stack.mailbox import SentEmail, sent_emails
from local_stack.stack import LocalStack

STOCKHOLM = ("kassa-1", "Café Åkern Södermalm", "STHLM")
MALMO = ("kassa-2", "Café Åkern Möllan", "MLM")
CARD_CLEARING = 1580
TIPS_OWED = 2890

VOUCHER_MAPPING = {
    "series": "A",
    "payment_methods": {"card": CARD_CLEARING, "cash": 1910, "swish": 1930},
    "product_groups": [{"group": "Alkohol", "vat_rate": 25, "account": 3001, "project": "P100"}],
    # The sandbox's chart names the output VAT accounts 2610/2620/2630 (BAS before 2611 and its siblings).
    "output_vat_accounts": {"25": 2610, "12": 2620, "6": 2630},
    "allow_tips": True,
    "tips_account": TIPS_OWED,
    "locations": {
        location: {"cost_center": cost_center, "description": name}
        for location, name, cost_center in (STOCKHOLM, MALMO)
    },
}


@dataclass(frozen=True)
class Failure:
    business_key: str
    sv: str
    en: str
    findings: list[str]
    fortnox_code: int | None
    """The code Fortnox answers for the same refusal, kept beside the explanation."""


@dataclass(frozen=True)
class Booked:
    business_key: str
    voucher: str
    action: str


@dataclass(frozen=True)
class VoucherStory:
    failed: list[Failure]
    digests: list[SentEmail]
    replayed: list[str]
    booked: list[Booked]
    vouchers_in_fortnox: int

    @property
    def ok(self) -> bool:
        return len(self.failed) == 1 and len(self.digests) == 1 and len(self.replayed) == 1 and len(self.booked) == 2


def sales_day(tenant: str, business_day: str, location: str, location_name: str) -> dict[str, Any]:
    """The sample ``sales.day_closed`` (three product groups, three payment methods, tips, cash rounding), closed
    by ``location`` on ``business_day``."""
    event: dict[str, Any] = json.loads((ROOT / "events" / "sales.day_closed.json").read_text())
    event.update(tenant_id=tenant, id=f"open-one-z-{business_day}-{location}")
    event["data"].update(business_day=business_day, location=location, location_name=location_name)
    return event


def prepare_company(control: SandboxControl, company: int) -> None:
    """The sandbox's chart lacks the card clearing and tips accounts a restaurant's chart has."""
    control.patch_account(company, CARD_CLEARING, Description="Fordringar för kontokort", Active=True)
    control.patch_account(company, TIPS_OWED, Description="Övriga kortfristiga skulder (dricks)", Active=True)


def export_sales_days(stack: LocalStack, management: httpx.Client, tenant: str, company: int) -> VoucherStory:
    """Run the story and return what the bridge said at each step."""
    control = stack.control
    prepare_company(control, company)
    # Someone closed Malmö's cost centre in Fortnox by mistake.
    control.put_cost_center(company, MALMO[2], Description="Malmö", Active=False)
    management.put(f"/tenants/{tenant}/mapping", json={**MAPPING, "vouchers": VOUCHER_MAPPING}).raise_for_status()

    tap = EventTap(stack.moto_url, stack.logical("Events"))
    exporter = stack.runner.function("VoucherExportExporter")
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    for location, name, _ in (STOCKHOLM, MALMO):
        stack.send("VoucherExportWorkQueue", json.dumps(sales_day(tenant, yesterday, location, name)))
    stack.runner.drain(exporter)

    failed = management.get(f"/tenants/{tenant}/exports", params={"status": "failed"})
    failed.raise_for_status()
    failures = [
        Failure(
            business_key=export["business_key"],
            sv=export["failure"]["sv"],
            en=export["failure"]["en"],
            findings=[finding["code"] for finding in export["failure"]["findings"]],
            fortnox_code=export["failure"]["code"],
        )
        for export in failed.json()["exports"]
    ]

    mailed_before = len(sent_emails())
    stack.runner.run_scheduled(stack.runner.function("FailureDigest"))
    digests = sent_emails()[mailed_before:]

    control.put_cost_center(company, MALMO[2], Description="Malmö", Active=True)
    replay = management.post(f"/tenants/{tenant}/exports/retry-failed")
    replay.raise_for_status()
    stack.runner.drain(exporter)

    booked = [
        Booked(
            business_key=event.detail["business_key"],
            voucher=f"{event.detail['series']} {event.detail['number']} (financialyear={event.detail['year']})",
            action=event.detail["action"],
        )
        for event in tap.received()
        if event.detail_type == "voucher.exported"
    ]
    return VoucherStory(
        failed=failures,
        digests=digests,
        replayed=list(replay.json()["replayed"]),
        booked=booked,
        vouchers_in_fortnox=int(control.company(company)["vouchers"]),
    )


def story_lines(story: VoucherStory) -> list[str]:
    lines = []
    for failure in story.failed:
        raw = ", ".join(
            [*failure.findings, *([f"Fortnox code {failure.fortnox_code}"] if failure.fortnox_code else [])]
        )
        lines.append(f"refused before any voucher call: {failure.business_key} ({raw})")
        for language, text in (("sv", failure.sv), ("en", failure.en)):
            wrapped = textwrap.wrap(text, width=100)
            lines.extend([f"  {language}: {wrapped[0]}", *(f"      {line}" for line in wrapped[1:])])
    for email in story.digests:
        link = next((line for line in email.body.splitlines() if "/status/" in line), "")
        lines.append(f"digest e-mail (the schedule's next tick) from {email.source} to {', '.join(email.to)}:")
        lines.append(f'  "{email.subject}"; {link[:60]}...')
    lines.append("cost centre MLM activated in Fortnox (the sandbox)")
    lines.append(f"POST /exports/retry-failed replayed {len(story.replayed)}: {', '.join(story.replayed)}")
    lines.extend(f"booked: {entry.business_key} -> voucher {entry.voucher}, {entry.action}" for entry in story.booked)
    lines.append(f"vouchers in the Fortnox company: {story.vouchers_in_fortnox}")
    return lines
