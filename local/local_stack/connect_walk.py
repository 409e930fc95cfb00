"""Walk a hosted connect link the way a browser would, without one: landing page, Fortnox consent, callback."""

import re
from dataclasses import dataclass
from html import unescape

import httpx


@dataclass(frozen=True)
class Walked:
    status: int
    page: str
    callback_url: str | None


def consent_url(link_url: str) -> str:
    landing = httpx.get(link_url, timeout=10)
    landing.raise_for_status()
    if 'id="confirm"' in landing.text:  # a link that replaces a live connection: the person confirms first
        landing = httpx.get(link_url, params={"confirm": "replace"}, timeout=10)
        landing.raise_for_status()
    found = re.search(r'id="continue" href="([^"]+)"', landing.text)
    if found is None:
        raise ValueError("the landing page has no continue link")
    return unescape(found.group(1))


def approve(consent: str, fortnox_company: int, *, decision: str = "approve") -> str:
    """Submit the sandbox's consent form; returns the callback URL Fortnox redirects to."""
    page = httpx.get(consent, timeout=10)
    page.raise_for_status()
    form = dict(re.findall(r"name='([a-z_]+)' value='([^']*)'", page.text))
    form = {name: unescape(value) for name, value in form.items()}
    answer = httpx.post(
        consent.split("?", 1)[0], data={**form, "tenant_id": str(fortnox_company), "decision": decision}, timeout=10
    )
    if answer.status_code != 302:
        raise ValueError(f"consent was not redirected: {answer.status_code}")
    return answer.headers["Location"]


def walk(link_url: str, fortnox_company: int, *, decision: str = "approve") -> Walked:
    callback = approve(consent_url(link_url), fortnox_company, decision=decision)
    result = httpx.get(callback, timeout=30)
    return Walked(result.status_code, result.text, callback)
