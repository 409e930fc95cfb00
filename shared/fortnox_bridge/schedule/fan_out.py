"""One tick of the payment schedule: every connected tenant whose payment poll is due gets one poll job.

One tick runs at a time (a lease on the fan-out: EventBridge may deliver a scheduled event twice, and a retry may
overlap a slow run), so two ticks never both enqueue a tenant. The due tenants are taken a hundred at a time: their
schedule re-read from the table (the index lags it), their connections read in one batch, their jobs sent ten to a
call, and each tenant moved on to its next due time only once SQS has accepted its job. A tenant that is not
connected stays due, so it is polled at the first tick after it reconnects. When the invocation runs short of time
the tick stops between groups: whoever it did not reach is still due for the next tick.
"""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from fortnox_bridge.observability import logger
from fortnox_bridge.payments.poll_request import PollRequested
from fortnox_bridge.schedule.poll_queue import PollQueue
from fortnox_bridge.store.batch_reads import BATCH_GET_LIMIT
from fortnox_bridge.store.connections import ConnectionStore
from fortnox_bridge.store.locks import LockStore
from fortnox_bridge.store.payment_schedule import DueTenant, PaymentSchedule

FAN_OUT_LOCK = "payment-fan-out"
LEASE_SECONDS = 300.0
"""Longer than the fan-out may run (two minutes), shorter than the time between ticks: a tick that died holding the
lease delays the next one by a tick at most."""
TIME_RESERVE_SECONDS = 20.0
"""Left over when the tick stops taking tenants: enough for one group's reads, sends and writes."""


@dataclass
class TickReport:
    due: int = 0
    enqueued: int = 0
    not_connected: int = 0
    moved: int = 0
    """Listed due by the index but no longer due in the table (moved on a moment ago, rescheduled, switched off)."""
    refused: int = 0
    """SQS would not take the job even after retries: the tenant stays due for the next tick."""
    deferred: int = 0
    """Not reached before the invocation ran short of time: still due for the next tick."""
    overlapping: int = 0
    """1 when another tick held the fan-out: this one did nothing."""

    def counts(self) -> dict[str, int]:
        return asdict(self)


class PaymentFanOut:
    def __init__(
        self, *, schedule: PaymentSchedule, connections: ConnectionStore, locks: LockStore, queue: PollQueue
    ) -> None:
        self._schedule = schedule
        self._connections = connections
        self._locks = locks
        self._queue = queue

    def tick(self, now: datetime, remaining_seconds: Callable[[], float] | None = None) -> TickReport:
        owner = uuid.uuid4().hex
        if not self._locks.acquire(FAN_OUT_LOCK, owner=owner, lease_seconds=LEASE_SECONDS):
            logger.info("payment fan-out skipped: another tick is running")
            return TickReport(overlapping=1)
        try:
            report = self._run(now, remaining_seconds)
        finally:
            self._locks.release(FAN_OUT_LOCK, owner=owner)
        logger.info("payment fan-out tick", extra=report.counts())
        return report

    def _run(self, now: datetime, remaining_seconds: Callable[[], float] | None) -> TickReport:
        entries = self._schedule.due_entries(now)
        report = TickReport(due=len(entries))
        for start in range(0, len(entries), BATCH_GET_LIMIT):
            if remaining_seconds is not None and remaining_seconds() < TIME_RESERVE_SECONDS:
                report.deferred = len(entries) - start
                logger.warning("payment fan-out ran short of time", extra={"deferred": report.deferred})
                break
            self._enqueue(entries[start : start + BATCH_GET_LIMIT], now, report)
        return report

    def _enqueue(self, group: Sequence[DueTenant], now: datetime, report: TickReport) -> None:
        current = self._schedule.still_due(group)
        report.moved += len(group) - len(current)
        connected = self._connections.connected_among([entry.tenant for entry in current])
        reachable = [entry for entry in current if entry.tenant in connected]
        report.not_connected += len(current) - len(reachable)
        jobs = [PollRequested(tenant_id=entry.tenant, due_at=entry.due_at) for entry in reachable]
        refused = {job.tenant_id for job in self._queue.send(jobs)}
        for entry in reachable:
            if entry.tenant not in refused:
                self._schedule.advance_entry(entry, now)
        report.enqueued += len(reachable) - len(refused)
        report.refused += len(refused)
        if refused:
            logger.warning("payment poll jobs refused by SQS", extra={"tenants": sorted(refused)})
