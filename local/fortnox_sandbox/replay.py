"""Replay real recorded Fortnox traffic against the sandbox and say where the sandbox answers differently.

A dev tool, not a test: it measures how close the sandbox is to live Fortnox.

    git -C /work/.mirror/accodeing+fortnox-api/repo archive HEAD spec/vcr_cassettes | tar -x -C /tmp/cassettes
    uv run python -m fortnox_sandbox.replay /tmp/cassettes/spec/vcr_cassettes [--details]

The cassettes are the Ruby VCR recordings of accodeing/fortnox-api (LGPL-3.0), made against the live API in
2023-2024: one YAML file per test, each with its HTTP interactions. The tool starts its own sandbox on 127.0.0.1
(a shared one is left alone) and, for every cassette, a fresh company with a consented app. Each recorded
request was made in a company that already held what it names, so before replaying it the tool creates that
world through the sandbox's own API, from the cassette alone:

- a customer for every ``CustomerNumber`` the request or answer names, an article for every row's
  ``ArticleNumber``;
- for a ``GET`` or ``PUT`` of one resource that Fortnox answered 2xx, that resource, made from the writable
  fields of the recorded answer;
- for a list Fortnox answered with items, each item, made from its writable fields plus the values the
  request searched for (Fortnox found them by those values), cancelled or bookkept when the request filtered
  on ``cancelled`` or ``fullypaid``.

Numbers are asked for as recorded; where the sandbox numbers a seeded resource differently, the replayed path
uses the sandbox's number. OAuth interactions are replayed with the credentials their recorded outcome implies
(a refresh token the sandbox issued for a 200, one it never issued for ``invalid_grant``, a wrong secret for
``invalid_client``, an access token past its hour for a 401 on the API).

Each answer is compared with the recorded one: status, error code, top-level key, the key set of the resource object
(the single resource, the first list item, or ``ErrorInformation``) and the JSON type of each key the two share;
and, in a last column, the same below those keys (rows by their first item, nested objects) wherever both answers
have the parent. The summary also counts answers with the recorded ``Location`` header. Resources the sandbox does
not serve (units, terms of payment) are counted apart as not served, and so are requests whose body the recording's
authors masked (``<REFRESH_TOKEN>`` in place of the JSON).
"""

import argparse
import json
import sys
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import httpx
import yaml

from fortnox_sandbox.control_client import AppCredentials, SandboxControl
from fortnox_sandbox.server import SandboxServer
from fortnox_sandbox.spec_fields import WRITABLE_FIELDS

NOT_SERVED = frozenset({"units", "termsofpayments"})

# path segment -> (the resource's key in a single answer, the field that numbers it)
RESOURCES: Mapping[str, tuple[str, str]] = {
    "customers": ("Customer", "CustomerNumber"),
    "invoices": ("Invoice", "DocumentNumber"),
    "orders": ("Order", "DocumentNumber"),
    "articles": ("Article", "ArticleNumber"),
    "projects": ("Project", "ProjectNumber"),
}

# A search parameter and the field it searches: an item Fortnox found carries the searched value.
SEARCHED_FIELDS: Mapping[str, str] = {
    "name": "Name",
    "city": "City",
    "zipcode": "ZipCode",
    "customername": "CustomerName",
    "yourreference": "YourReference",
    "ourreference": "OurReference",
    "description": "Description",
    "articlenumber": "ArticleNumber",
}

# A status filter and the action that puts a seeded document in that status.
FILTER_ACTIONS: Mapping[str, str] = {"cancelled": "cancel", "fullypaid": "bookkeep"}

MASKED = "<REFRESH_TOKEN>"
APP = AppCredentials("replay-client", "replay-secret")


@dataclass(frozen=True)
class Interaction:
    """One recorded request and Fortnox's answer."""

    cassette: str
    method: str
    url: str
    body: str
    status: int
    answer: Any
    location: str | None = None


@dataclass(frozen=True)
class Observed:
    """What the comparison looks at in an answer."""

    status: int
    error_code: int | None
    top_key: str | None
    keys: frozenset[str] | None
    types: Mapping[str, str]
    nested: Mapping[str, str] = field(default_factory=dict)  # path below a key (rows, EmailInformation) -> type
    location: str | None = None


@dataclass
class Outcome:
    interaction: Interaction
    recorded: Observed
    replayed: Observed | None
    remark: str = ""

    @property
    def same_status(self) -> bool:
        return self.replayed is not None and self.replayed.status == self.recorded.status

    @property
    def same_code(self) -> bool:
        return self.replayed is not None and self.replayed.error_code == self.recorded.error_code

    @property
    def same_top_key(self) -> bool:
        return self.replayed is not None and self.replayed.top_key == self.recorded.top_key

    @property
    def same_location(self) -> bool:
        return self.replayed is not None and self.replayed.location == self.recorded.location

    @property
    def same_keys(self) -> bool:
        return self.replayed is not None and self.replayed.keys == self.recorded.keys

    @property
    def type_differences(self) -> list[str]:
        if self.replayed is None:
            return ["(not replayed)"]
        shared = set(self.recorded.types) & set(self.replayed.types)
        return sorted(
            f"{key}: {self.recorded.types[key]}->{self.replayed.types[key]}"
            for key in shared
            if self.recorded.types[key] != self.replayed.types[key]
        )

    @property
    def same_types(self) -> bool:
        return self.replayed is not None and not self.type_differences

    @property
    def nested_differences(self) -> list[str]:
        """Keys and types below the resource's own keys, where both sides have the parent (a row, an object)."""
        if self.replayed is None:
            return ["(not replayed)"]
        recorded, replayed = self.recorded.nested, self.replayed.nested
        differences = []
        for path in sorted(set(recorded) | set(replayed)):
            parent = path.rsplit(".", 1)[0] if "." in path else path.rsplit("[]", 1)[0]
            if path not in replayed and parent in replayed:
                differences.append(f"missing {path}")
            elif path not in recorded and parent in recorded:
                differences.append(f"extra {path}")
            elif path in recorded and path in replayed and recorded[path] != replayed[path]:
                differences.append(f"{path}: {recorded[path]}->{replayed[path]}")
        return differences

    def key_differences(self) -> str:
        if self.replayed is None or self.replayed.keys is None or self.recorded.keys is None:
            return "" if self.same_keys else "no resource object on one side"
        missing = sorted(self.recorded.keys - self.replayed.keys)
        extra = sorted(self.replayed.keys - self.recorded.keys)
        return "; ".join(part for part in [_listed("missing", missing), _listed("extra", extra)] if part)


def _listed(label: str, keys: list[str]) -> str:
    return f"{label} {', '.join(keys)}" if keys else ""


def load(cassette_dir: Path) -> list[Interaction]:
    interactions = []
    for path in sorted(cassette_dir.rglob("*.yml")):
        recording = yaml.safe_load(path.read_text())
        for item in recording.get("http_interactions") or []:
            request, response = item["request"], item["response"]
            text = (response.get("body") or {}).get("string") or ""
            try:
                answer: Any = json.loads(text)
            except ValueError:
                answer = text
            interactions.append(
                Interaction(
                    cassette=str(path.relative_to(cassette_dir)),
                    method=str(request["method"]).upper(),
                    url=str(request["uri"]),
                    body=str((request.get("body") or {}).get("string") or ""),
                    status=int(response["status"]["code"]),
                    answer=answer,
                    location=next(iter((response.get("headers") or {}).get("Location") or []), None),
                )
            )
    return interactions


def json_type(value: Any) -> str:
    """A JSON value's kind, what a reader must be ready for (a number may be written 0 or 0.00)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def observe(status: int, answer: Any) -> Observed:
    if not isinstance(answer, dict) or not answer:
        return Observed(status, None, None, None, {})
    top_key = next((key for key in answer if key != "MetaInformation"), None)
    value = answer.get(top_key) if top_key is not None else None
    if isinstance(value, list):
        value = value[0] if value else None
    elif not isinstance(value, dict):
        # OAuth answers and {"message": ...}: the answer itself is the object.
        value = answer
    error_code = None
    information = answer.get("ErrorInformation")
    if isinstance(information, dict):
        code = information.get("code", information.get("Code"))
        error_code = int(code) if code is not None else None
    keys = frozenset(value) if isinstance(value, dict) else None
    types = {key: json_type(item) for key, item in value.items()} if isinstance(value, dict) else {}
    nested = {
        path: kind
        for key, item in (value.items() if isinstance(value, dict) else [])
        for path, kind in _paths(item, key).items()
        if path != key
    }
    return Observed(status, error_code, top_key, keys, types, nested)


def _paths(value: Any, path: str) -> dict[str, str]:
    """Each path in a value (``InvoiceRows[].Total``; an array by its first item) and its JSON type."""
    found = {path: json_type(value)}
    if isinstance(value, dict):
        for key, item in value.items():
            found.update(_paths(item, f"{path}.{key}"))
    elif isinstance(value, list) and value:
        found.update(_paths(value[0], f"{path}[]"))
    return found


def _writable(resource_key: str, recorded: Mapping[str, Any]) -> dict[str, Any]:
    """The recorded values a create may send: writable, scalar and set.

    An invoice's dates are left to the sandbox (today): its company's financial years are this year's, not
    2023's, so a recorded invoice date could not be booked; no comparison looks at a date's value.
    """
    allowed = WRITABLE_FIELDS.get(resource_key, frozenset())
    return {
        key: value
        for key, value in recorded.items()
        if key in allowed
        and key != "@url"
        and key not in {"InvoiceDate", "DueDate"}
        and value is not None
        and not isinstance(value, dict | list)
    }


@dataclass
class Company:
    """A fresh sandbox company, the API as a consented app, and the numbers the sandbox gave to seeded resources."""

    http: httpx.Client
    numbers: dict[tuple[str, str], str] = field(default_factory=dict)
    customers: set[str] = field(default_factory=set)
    articles: set[str] = field(default_factory=set)
    seed_failures: list[str] = field(default_factory=list)

    def send(self, method: str, path: str, body: Any = None) -> httpx.Response:
        if body is None:
            return self.http.request(method, path)
        return self.http.request(method, path, json=body)

    def ensure_customer(self, number: str, name: str | None) -> None:
        if number in self.customers:
            return
        self.customers.add(number)
        self.create("customers", {"CustomerNumber": number, "Name": name or f"Customer {number}"})

    def ensure_article(self, number: str, description: str | None) -> None:
        if number in self.articles:
            return
        self.articles.add(number)
        self.create("articles", {"ArticleNumber": number, "Description": description or f"Article {number}"})

    def create(self, resource: str, values: dict[str, Any]) -> str | None:
        resource_key, number_field = RESOURCES[resource]
        if "CustomerNumber" in values and resource != "customers":
            self.ensure_customer(str(values["CustomerNumber"]), values.get("CustomerName"))
        answer = self.send("POST", f"/3/{resource}", {resource_key: values})
        if answer.status_code >= 300:
            self.seed_failures.append(f"seeding {resource} {values.get(number_field)}: {answer.status_code}")
            return None
        made = str(answer.json()[resource_key][number_field])
        if values.get(number_field) is not None:
            self.numbers[(resource, str(values[number_field]))] = made
        if resource == "customers":
            self.customers.add(made)
        if resource == "articles":
            self.articles.add(made)
        return made


def _split(url: str) -> tuple[str, str, list[tuple[str, str]]]:
    """(resource, rest of the path, query) of a recorded API URL; the path without its trailing slash."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    segments = path.split("/")
    resource = segments[2] if len(segments) > 2 and segments[1] == "3" else ""
    return resource, path, parse_qsl(parts.query, keep_blank_values=True)


def _rows(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    rows = document.get("InvoiceRows") or document.get("OrderRows") or []
    return [row for row in rows if isinstance(row, dict)]


def _seed_dependencies(company: Company, sent: Mapping[str, Any], answered: Mapping[str, Any]) -> None:
    number = sent.get("CustomerNumber") or answered.get("CustomerNumber")
    if number:
        company.ensure_customer(str(number), answered.get("CustomerName"))
    answered_rows = _rows(answered)
    for index, row in enumerate(_rows(sent)):
        if row.get("ArticleNumber"):
            # A row that sent no description got the article's.
            answered_row = answered_rows[index] if index < len(answered_rows) and "Description" not in row else {}
            company.ensure_article(str(row["ArticleNumber"]), answered_row.get("Description"))


def _seed_one(company: Company, resource: str, recorded: Mapping[str, Any]) -> None:
    resource_key, _ = RESOURCES[resource]
    if resource != "customers":
        _seed_dependencies(company, recorded, recorded)
    company.create(resource, _writable(resource_key, recorded))


def _seed_list(company: Company, resource: str, query: list[tuple[str, str]], items: list[Any]) -> None:
    searched = {SEARCHED_FIELDS[name]: value for name, value in query if name in SEARCHED_FIELDS}
    status = dict(query).get("filter")
    _, number_field = RESOURCES[resource]
    for item in sorted(items, key=lambda found: _numeric(found.get(number_field))):
        values = {**searched, **item}
        resource_key, _ = RESOURCES[resource]
        if "CustomerNumber" in values and resource != "customers":
            company.ensure_customer(str(values["CustomerNumber"]), values.get("CustomerName"))
        made = company.create(resource, _writable(resource_key, values))
        action = FILTER_ACTIONS.get(status or "")
        if made is not None and action is not None:
            answer = company.send("PUT", f"/3/{resource}/{made}/{action}")
            if answer.status_code >= 300:
                company.seed_failures.append(f"{action} {resource} {made}: {answer.status_code}")


def _numeric(value: Any) -> tuple[int, str]:
    text = str(value or "")
    return (int(text), "") if text.isdigit() else (sys.maxsize, text)


def _world(company: Company, interaction: Interaction, sent: Any) -> None:
    """Create what the recorded request presupposes, from the cassette alone."""
    resource, path, query = _split(interaction.url)
    wrapped: Any = next(iter(sent.values()), {}) if isinstance(sent, dict) and sent else {}
    payload: dict[str, Any] = wrapped if isinstance(wrapped, dict) else {}
    answer = interaction.answer if isinstance(interaction.answer, dict) else {}
    if resource not in RESOURCES or not 200 <= interaction.status < 300:
        _seed_dependencies(company, payload, {})
        return
    resource_key, _ = RESOURCES[resource]
    answered = answer.get(resource_key)
    if isinstance(answered, dict):
        if len(path.split("/")) == 4 and interaction.method in {"GET", "PUT"}:
            _seed_one(company, resource, answered)
        else:
            _seed_dependencies(company, payload, answered)
        return
    items = answer.get(f"{resource_key}s")
    if isinstance(items, list) and items:
        _seed_list(company, resource, query, items)


def _mapped(company: Company, url: str) -> str:
    resource, path, query = _split(url)
    segments = path.split("/")
    if len(segments) >= 4 and (resource, segments[3]) in company.numbers:
        segments[3] = company.numbers[(resource, segments[3])]
    mapped = "/".join(segments)
    if query:
        mapped += "?" + "&".join(f"{quote(name)}={quote(value)}" for name, value in query)
    return mapped


class Replayer:
    def __init__(self, sandbox_url: str) -> None:
        self.url = sandbox_url
        self.control = SandboxControl(sandbox_url)
        self.control.reset()
        self.control.create_app(APP.client_id, APP.client_secret)
        # Seeding a long list takes more calls than Fortnox's window allows; the window is not what is measured.
        self.control.set_rate_limit(100_000, 5.0)

    def _company(self) -> tuple[int, Company]:
        tenant_id = self.control.create_company(uuid.uuid4().int % 900_000_000 + 100_000_000, "Replay AB")
        token = self.control.access_token(APP, tenant_id)
        http = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            timeout=30,
        )
        return tenant_id, Company(http=http)

    def replay(self, interaction: Interaction) -> Outcome:
        recorded = replace(observe(interaction.status, interaction.answer), location=interaction.location)
        if "oauth-v1" in interaction.url:
            return Outcome(interaction, recorded, self._token(interaction))
        tenant_id, company = self._company()
        with company.http:
            if interaction.status == 401:
                return Outcome(interaction, recorded, self._expired(tenant_id, interaction))
            sent: Any = json.loads(interaction.body) if interaction.body else None
            _world(company, interaction, sent)
            answer = company.send(interaction.method, _mapped(company, interaction.url), sent)
            replayed = replace(observe(answer.status_code, _parsed(answer)), location=answer.headers.get("Location"))
            return Outcome(interaction, recorded, replayed, "; ".join(company.seed_failures))

    def _token(self, interaction: Interaction) -> Observed:
        """The token endpoint, with the credentials the recorded outcome implies (the recording masks them)."""
        refresh, secret = self._credentials(interaction.status)
        answer = httpx.post(
            f"{self.url}/oauth-v1/token",
            data={"grant_type": "refresh_token", "refresh_token": refresh},
            auth=(APP.client_id, secret),
        )
        return observe(answer.status_code, _parsed(answer))

    def _credentials(self, status: int) -> tuple[str, str]:
        """(refresh token, client secret): one the sandbox issued for a 200, a wrong secret for invalid_client
        (401), a token never issued for invalid_grant (400)."""
        if status == 200:
            tenant_id = self.control.create_company(uuid.uuid4().int % 900_000_000 + 100_000_000, "Replay AB")
            code = self.control.consent(APP, tenant_id)
            issued = self.control.token(APP, {"grant_type": "authorization_code", "code": code})
            return str(issued.json()["refresh_token"]), APP.client_secret
        if status == 401:
            return "never-issued", "not-the-secret"
        return "never-issued", APP.client_secret

    def _expired(self, tenant_id: int, interaction: Interaction) -> Observed:
        token = self.control.access_token(APP, tenant_id)
        self.control.advance_clock(3601)
        _, path, _ = _split(interaction.url)
        answer = httpx.request(interaction.method, f"{self.url}{path}", headers={"Authorization": f"Bearer {token}"})
        return observe(answer.status_code, _parsed(answer))


def _parsed(answer: httpx.Response) -> Any:
    try:
        return json.loads(answer.text)
    except ValueError:
        return answer.text


def _mark(same: bool) -> str:
    return "=" if same else "X"


def report(outcomes: list[Outcome], not_served: list[Interaction], masked: list[Interaction], details: bool) -> str:
    lines = [f"{'cassette':<58} {'status':>9} {'code':>4} {'top':>3} {'keys':>4} {'types':>5} {'nested':>6}"]
    for outcome in outcomes:
        replayed = outcome.replayed.status if outcome.replayed is not None else "-"
        lines.append(
            f"{outcome.interaction.cassette:<58} {outcome.recorded.status:>4}/{replayed!s:<4}"
            f" {_mark(outcome.same_code):>4} {_mark(outcome.same_top_key):>3}"
            f" {_mark(outcome.same_keys):>4} {_mark(outcome.same_types):>5}"
            f" {_mark(not outcome.nested_differences):>6}"
        )
        if details:
            notes = [
                outcome.key_differences(),
                ", ".join(outcome.type_differences),
                ", ".join(outcome.nested_differences),
                outcome.remark,
            ]
            if not outcome.same_location and outcome.replayed is not None:
                notes.append(f"Location {outcome.recorded.location} -> {outcome.replayed.location}")
            if not outcome.same_code and outcome.replayed is not None:
                notes.append(f"code {outcome.recorded.error_code} -> {outcome.replayed.error_code}")
            lines.extend(f"    {note}" for note in notes if note)
    for interaction in not_served:
        lines.append(f"{interaction.cassette:<58} not served")
    for interaction in masked:
        lines.append(f"{interaction.cassette:<58} request body masked in the recording: not replayed")
    total = len(outcomes)
    lines.append("")
    lines.append(
        f"{sum(o.same_status for o in outcomes)} of {total} interactions: same status; "
        f"{sum(o.same_keys for o in outcomes)}: same key set; {sum(o.same_types for o in outcomes)}: same types"
        f" ({sum(o.same_code for o in outcomes)}: same error code, {sum(o.same_top_key for o in outcomes)}: "
        f"same top-level key, {sum(not o.nested_differences for o in outcomes)}: same keys and types below it, "
        f"{sum(o.same_location for o in outcomes)}: same Location header)"
    )
    lines.append(
        f"not served by the sandbox (units, terms of payment): {len(not_served)}; "
        f"request masked by the recording: {len(masked)}"
    )
    return "\n".join(lines)


def run(cassette_dir: Path, *, details: bool) -> str:
    interactions = load(cassette_dir)
    not_served = [item for item in interactions if _split(item.url)[0] in NOT_SERVED]
    masked = [
        item for item in interactions if item not in not_served and MASKED in item.body and "oauth-v1" not in item.url
    ]
    replayable = [item for item in interactions if item not in not_served and item not in masked]
    with SandboxServer() as server:
        replayer = Replayer(server.url)
        outcomes = list(_each(replayer, replayable))
        replayer.control.close()
    return report(outcomes, not_served, masked, details)


def _each(replayer: Replayer, interactions: list[Interaction]) -> Iterator[Outcome]:
    for interaction in interactions:
        yield replayer.replay(interaction)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fortnox_sandbox.replay", description=__doc__.split("\n")[0])
    parser.add_argument("cassette_dir", type=Path, help="a folder of VCR cassettes (spec/vcr_cassettes)")
    parser.add_argument("--details", action="store_true", help="list the differing keys and types under each row")
    arguments = parser.parse_args(argv)
    print(run(arguments.cassette_dir, details=arguments.details))  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
