"""An SQS batch worked two records at a time, each after the records before it in the batch that change what it
names.

Why two. Fortnox takes 100-300 ms to answer, and a tenant may send 25 requests in any 5 s: one every 200 ms, about
what one answer takes. A worker that waits for each answer before it starts the next record cannot sit at the limit
(a fast answer cannot be banked beyond the window and a slow one cannot be won back: 0.92-0.95 of it at best), and
is billed for the wait. With a second record in flight its request goes while the first one's answer is on its
way, and the tenant's limiter, not the worker, sets the pace. A third would only wait in the limiter for a batch of
one tenant (docs/decisions.md, "Two records in flight per invoice export worker").

Why an order. Records of one batch are independent only when they name different things. A credit note of an invoice
in the same batch must find the invoice exported, and two records must not race to create a customer in Fortnox (the
loser's create is refused and retried as an update: two of the tenant's 25 requests spent on one customer, and a
customer created once, never updated, is what a batch of one customer's invoices has always cost). So a record waits
for the earlier records of its batch that change what it names: its document (its own number, the invoice it
credits), and its customer when a customer event changes it, when it is the first record of the batch to name that
customer (it may create it), or when it carries other customer data than the record before it that named the
customer (it updates it, and two updates side by side leave whichever lands last in Fortnox, not the newer). Other
invoices to that customer go side by side: a transport company's batch often names one customer ten times with the
same data, and after the first its hash is known, so the rest cost no customer call at all. A customer event waits
for the earlier invoices to its customer. A record waits whatever the outcome of the one it waits for, as when the
batch went one record at a time; but a record that ends without its event in Fortnox (refused, rejected or failed)
is then out of the order of the records not yet started, so when the first invoice to name a new customer is refused
before it gets to create it, the next one is the first again and the others wait for it, instead of going side by
side and both creating it (and when it updated the customer before it failed, the next one to name the customer
still goes alone). A body that names nothing readable (one the export refuses) waits for nothing: it fails on its
own.

Powertools' ``BatchProcessor`` keeps the partial-failure bookkeeping; only the loop over the records is ours, in two
threads of our own. Not its ``AsyncBatchProcessor``: that one needs the calling thread to have no running event loop
(it calls ``asyncio.run``), which a host embedding the handler (a browser test driving Playwright's sync API, say)
does not guarantee, and the record's work is synchronous anyway.
"""

import contextvars
import json
import threading
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

from fortnox_bridge.contracts.intake import RefusedBody, json_within_limits

RECORDS_IN_FLIGHT = 2

OrderingKey = tuple[str, str, str]
"""(tenant id, "document" or "customer", its number)."""


@dataclass(frozen=True)
class Names:
    """What a record changes (its documents; a customer event's customer) and what it only uses (an invoice's
    customer), and the customer data it carries."""

    changes: frozenset[OrderingKey] = frozenset()
    uses: frozenset[OrderingKey] = frozenset()
    customer_data: str | None = None


def names_of(body: str) -> Names:
    """What a record names; nothing for a body that is not an event (it is parsed within the limits the export
    parses it under, so a hostile body costs no more here). Numbers are read as the contract reads them (stripped
    of surrounding whitespace): " 310" and "310" are one invoice."""
    try:
        raw = json_within_limits(body)
    except RefusedBody:
        return Names()
    if not isinstance(raw, dict) or not isinstance(raw.get("tenant_id"), str) or not isinstance(raw.get("data"), dict):
        return Names()
    tenant: str = raw["tenant_id"]
    data: dict[str, Any] = raw["data"]
    documents = {
        (tenant, "document", data[field].strip())
        for field in ("invoice_number", "credits_invoice_number")
        if isinstance(data.get(field), str)
    }
    customer = data if raw.get("type") == "customer.upserted" else data.get("customer")
    if not isinstance(customer, dict) or not isinstance(customer.get("customer_number"), str):
        return Names(changes=frozenset(documents))
    key = (tenant, "customer", customer["customer_number"].strip())
    carried = json.dumps(customer, sort_keys=True)
    if raw.get("type") == "customer.upserted":
        return Names(changes=frozenset({key}), customer_data=carried)
    return Names(changes=frozenset(documents), uses=frozenset({key}), customer_data=carried)


def earlier_to_wait_for(batch: Sequence[Names], unsettled: Collection[int] = ()) -> list[list[int]]:
    """For each record, the earlier records of the batch it waits for: the last one that changed anything it
    names, and, for what it changes, every one that used it since (each of those waited for the change before).

    A record that uses a customer changes it when it is the first of the batch to name it (it may create it in
    Fortnox) or when it carries other customer data than the last record that named it (it updates it in Fortnox,
    and two updates side by side would leave whichever lands last, not the newer).

    ``unsettled``: records already done without their event in Fortnox. Nobody waits for them, and what each did to
    the customers it named is unknown (it may have created or updated one before it failed, or done nothing), so
    the next record to name such a customer changes it, whatever data it carries. Planned again with them, the
    records not yet started wait for no fewer of each other than before: only waits on finished records go."""
    last_change: dict[OrderingKey, int] = {}
    last_data: dict[OrderingKey, str | None] = {}
    used_since: defaultdict[OrderingKey, list[int]] = defaultdict(list)
    waits: list[list[int]] = []
    for index, names in enumerate(batch):
        if index in unsettled:
            waits.append([])
            for key in names.changes | names.uses:
                # What it did to the customer is not known: the next record to name it goes alone.
                last_data.pop(key, None)
            continue
        changes = names.changes | {
            key for key in names.uses if key not in last_change or last_data.get(key) != names.customer_data
        }
        before = {last_change[key] for key in names.changes | names.uses if key in last_change}
        for key in changes:
            before.update(used_since[key])
        waits.append(sorted(before))
        for key in changes:
            last_change[key] = index
            used_since[key] = []
        for key in names.uses - changes:
            used_since[key].append(index)
        for key in names.changes | names.uses:
            if key[1] == "customer":
                last_data[key] = names.customer_data
    return waits


class InFlightBatchProcessor(BatchProcessor):
    """Powertools' batch processor, its records worked in ``lanes`` threads: each lane takes the first record of the
    batch that no lane has taken and whose earlier records it waits for are done, so a record that waits holds no
    lane. Powertools' own per-record handling (``_process_record``: the partial-failure bookkeeping) is unchanged."""

    def __init__(self, event_type: EventType, *, lanes: int = RECORDS_IN_FLIGHT) -> None:
        super().__init__(event_type=event_type)
        self._lane_count = lanes

    def process(self) -> list[tuple[Any, ...]]:
        records: list[dict[str, Any]] = list(self.records)
        names = [names_of(str(record.get("body", ""))) for record in records]
        waits = earlier_to_wait_for(names)
        unsettled: set[int] = set()
        results: list[tuple[Any, ...] | None] = [None] * len(records)
        done = [False] * len(records)
        taken = [False] * len(records)
        broken: list[BaseException] = []
        changed = threading.Condition()

        def next_ready() -> int | None:
            """Under ``changed``: the first record ready to go, None when none is left to take."""
            while not all(taken):
                for index, waiting_for in enumerate(waits):
                    if not taken[index] and all(done[earlier] for earlier in waiting_for):
                        taken[index] = True
                        return index
                changed.wait()
            return None

        def lane() -> None:
            while True:
                with changed:
                    index = next_ready()
                if index is None:
                    return
                try:
                    results[index] = self._process_record(records[index])
                except BaseException as error:  # Powertools catches the handler's; anything else is ours
                    broken.append(error)
                finally:
                    with changed:
                        done[index] = True
                        result = results[index]
                        # Powertools' failure tuple, none at all, or a handler saying its event is not in Fortnox.
                        if result is None or result[0] == "fail" or result[1] is False:
                            unsettled.add(index)
                            replanned = earlier_to_wait_for(names, unsettled)
                            for later, waiting_for in enumerate(replanned):
                                if not taken[later]:
                                    waits[later] = waiting_for
                        changed.notify_all()

        # Each lane in a copy of the caller's context, as the handler would have run in it.
        threads = [
            threading.Thread(target=contextvars.copy_context().run, args=(lane,), name=f"record-lane-{number}")
            for number in range(min(self._lane_count, len(records)))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if broken:
            # A record neither counted as success nor as failure must not be deleted as one: the whole batch goes
            # back to the queue, as when a handler without lanes raises.
            raise broken[0]
        return [result for result in results if result is not None]
