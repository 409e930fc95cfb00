"""A sliding-window log of send times, reserved with conditional writes.

Fortnox allows 25 requests in any 5 seconds per client id and tenant. A token bucket refilled at 5/s can let 50
through in one window, so this keeps Fortnox's own rule: the last 25 send times live in one DynamoDB item, and a
request may go when the 25th newest is more than 5 s (plus a margin) old. A worker logs a slot, possibly in the
near future, with a conditional write on the item's version, and sends as soon as the log it wrote over allows,
which is often at once and never after its slot. Nobody spins on a full window and nobody needs process memory
that other Lambdas cannot see: what a process remembers of the log is only a guess for its next write, which the
condition checks.

Why a request may go before its own slot. Number the slots in the order they were logged, ``r_1 <= r_2 <= ...``
(each write appends at the end of a sorted log), and let ``a_k`` be the moment request ``k`` actually goes,
``L`` the limit, ``W`` the window, ``m`` the margin. ``acquire`` keeps, for every ``k``:

- (A) ``a_k >= r_{k-L} + W + m``: the window bound, over the log the write that logged ``r_k`` went over;
- (B) ``a_k <= r_k + tolerated_lateness``: never later than its own slot allows (a worker that wakes later moves
  its slot, see ``acquire``).

Take any ``L + 1`` requests and let ``j`` and ``k`` be the lowest and highest of their slot numbers, so
``k - j >= L`` and ``r_j <= r_{k-L}``. Then ``a_k - a_j >= (r_{k-L} + W + m) - (r_j + tolerated_lateness)
>= W + m - tolerated_lateness = W + jitter``, so no ``W``-second window of sends holds more than ``L``, and with
arrivals late by at most ``jitter_seconds`` more than one another, none of arrivals either. Sending earlier than
one's own slot breaks neither bound; the slot is what later requests count from, and a slot logged later than its
send only makes them more careful. So the gap between slots (``next_slot``) and the lead of a reservation
(``_Memory.lead``) are pacing, not safety: they decide where slots are logged, never how long a worker waits when
the window has room. A slot moved (``acquire``) leaves the log and is appended again: the slots after it then
have an earlier slot ``L`` places back than the one their bound counted from, so (A) still holds for them, and
the moved request's bounds are taken over the log as it is when it is moved.

Clocks. The bounds are over one time line: clocks that differ by less than the margin leaves over are lateness and
jitter, which ``tolerated_lateness`` and ``jitter_seconds`` cover (Lambda hosts keep Amazon Time Sync, within
milliseconds). No rule over the log alone lets a host whose clock is far behind keep (B): it cannot know when, on
the log's time line, it sends. No slot is logged more than ``MAX_AHEAD_SECONDS`` ahead of its writer's clock, so
times beyond that horizon of this host's clock say that its clock is behind the log's, or that a clock which ran
ahead wrote them, and the host cannot tell which: it refuses (``_trusted``), writes nothing and sends nothing, and
the bounds of the hosts that agree with the log stand. Dropping those times instead lets it send into a window it
cannot see and log a slot the others read as long past: a burst. The one exception is an outlier, a single time
beyond the horizon and as far beyond the log's other times (a hand edit, one write of a host that ran ahead): it is
dropped, since honouring it would park every worker of the tenant until then, and the bounds are taken over the
rest. Not covered: a host far behind whose log holds only times it wrote itself, or saw age within its horizon,
sends on its own time line, which nothing in the log shows. The guard is for the blatantly wrong clock; the proof
is for clocks within the margin.
"""

import random
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from fortnox_bridge.errors import RetryableError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


@dataclass(frozen=True)
class WindowRule:
    limit: int = 25
    window_seconds: float = 5.0
    margin_seconds: float = 0.1
    """Added to every window: Fortnox counts arrivals, we count departures. It must cover the spread of the time a
    request takes to arrive (``jitter_seconds``) plus how late a worker may send after its slot."""
    jitter_seconds: float = 0.03
    """The part of the margin kept for arrival jitter; the rest is how late a send may be and keep its slot."""

    @property
    def tolerated_lateness(self) -> float:
        """A send late by ``d`` can crowd only the window of the slot reserved ``limit`` places after it, which is
        at least a window plus the margin later; it stays clear while ``d + jitter <= margin``."""
        return max(0.0, self.margin_seconds - self.jitter_seconds)

    @property
    def gap_seconds(self) -> float:
        """The least time between two slots: the limit's own pace, so a full window is spread evenly over it."""
        return (self.window_seconds + self.margin_seconds) / self.limit


def next_slot(sent: list[float], now: float, rule: WindowRule) -> float:
    """The earliest moment at or after ``now`` that keeps every window within the limit, at an even pace.

    ``sent`` is sorted and only grows at its end, so it is enough that the new time is not before the last one
    and is a full window (plus margin) after the one ``limit`` places back. Slots are also a ``gap_seconds``
    apart: at the limit that costs nothing (a window holds ``limit`` gaps), a burst of 25 is spread over a window
    instead of landing at once, and workers of one tenant then write the log at different moments instead of
    racing for the same version.
    """
    slot = max(now, sent[-1] + rule.gap_seconds) if sent else now
    if len(sent) >= rule.limit:
        slot = max(slot, sent[-rule.limit] + rule.window_seconds + rule.margin_seconds)
    return _stored(slot)


def window_bound(sent: list[float], rule: WindowRule) -> float:
    """The earliest moment a request logged after ``sent`` may go: a window (plus margin) after the send
    ``limit`` places back; any moment while the log holds fewer."""
    return sent[-rule.limit] + rule.window_seconds + rule.margin_seconds if len(sent) >= rule.limit else 0.0


def _stored(moment: float) -> float:
    """The value a time has after a round trip through the item (six decimals), so a slot can be found again."""
    return float(f"{moment:.6f}")


@dataclass(frozen=True)
class WindowLog:
    version: int
    """0: no item (as far as we know)."""
    sent: tuple[float, ...] = ()


@dataclass
class _Memory:
    """What this process last saw of one log and how long its writes took; shared by every limiter object of the
    process for that key, because the bridge builds a limiter per Fortnox client."""

    log: WindowLog = field(default_factory=lambda: WindowLog(0))
    writes: deque[float] = field(default_factory=lambda: deque(maxlen=8))
    turn: threading.Lock = field(default_factory=threading.Lock)
    """Held while a limiter of this process writes the log: two requests of one process (the invoice export works
    two records at a time) then reserve one after the other, the second over the version the first wrote, instead
    of both writing over the same version and one losing. Not held while a request waits for its slot."""

    def lead(self) -> float:
        """How far ahead to reserve, so a slot is not already past when the write that reserves it returns.
        A late wake-up is not predictable and is not added: the tolerated lateness covers it, a move repairs it."""
        return max(self.writes, default=0.0)


_memories: dict[str, _Memory] = {}
_memories_lock = threading.Lock()


def _memory(key: str) -> _Memory:
    with _memories_lock:
        return _memories.setdefault(key, _Memory())


@dataclass(frozen=True)
class _Reservation:
    slot: float
    """Logged for this request; later requests count from it. The request must go by its tolerated lateness."""
    earliest: float
    """The window bound over the log the slot was written after: the request may go from then, even before its
    slot."""


class _Lost(Exception):
    def __init__(self, current: WindowLog) -> None:
        self.current = current


class DynamoDbSlidingWindow:
    """RateLimiter for one (client id, Fortnox tenant): ``acquire`` blocks until a slot is ours."""

    GIVE_UP_SECONDS = 30.0
    """How long a worker keeps trying to place a slot it can meet (from its first miss), and how long its lost writes
    may take in all before it stops racing for the log. Only the writes count there, not the pauses of its back-off:
    a pause is the worker's own choice, and a longer one must not turn contention into an error. Every lost race is
    another worker's progress, so only a host too slow to send near any slot, or to write, gets here, never a busy
    tenant."""

    MAX_AHEAD_SECONDS = 60.0
    """No slot is reserved further ahead than this many seconds of queued requests (300 at Fortnox's pace, far more
    workers than one tenant is ever given), so a logged time beyond it says that a clock is wrong (``_trusted``)."""

    def __init__(
        self,
        table: "Table",
        *,
        client_id: str,
        tenant_key: str,
        rule: WindowRule | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._table = table
        self._key = {"PK": f"RATE#{client_id}#{tenant_key}", "SK": "WINDOW"}
        self._rule = rule or WindowRule()
        self._clock = clock
        self._sleep = sleep
        self._timer = timer
        self._memory = _memory(f"{getattr(table, 'name', '')}#{self._key['PK']}")

    def acquire(self) -> None:
        """Wait until the window allows a send and keep the slot logged for it. A worker that wakes later than the
        rule tolerates after its slot moves the slot to a time it can meet, in place: leaving the missed slot in the
        log would cost a send that never happens."""
        reservation = self._reserve()
        give_up_at: float | None = None
        while True:
            delay = reservation.earliest - self._clock()
            if delay > 0:
                self._sleep(delay)
            if self._clock() - reservation.slot <= self._rule.tolerated_lateness:
                return
            # Counted from the first miss: a slot far ahead (many workers on one tenant) is waited for, not missed.
            give_up_at = give_up_at or self._clock() + self.GIVE_UP_SECONDS
            if self._clock() > give_up_at:
                raise RetryableError("could not send within a reserved rate-limit slot; try again later")
            reservation = self._reserve(replacing=reservation.slot)

    def _reserve(self, *, replacing: float | None = None) -> _Reservation:
        """Log a slot (epoch seconds) and say from when its request may go; ``replacing`` gives one of ours back.

        The first write goes over the version this process last saw, with no read. When another worker wrote
        since, the refused write returns the item as it is (``ALL_OLD``), and the next attempt starts from that.
        """
        with self._memory.turn:
            return self._reserve_in_turn(replacing)

    def _reserve_in_turn(self, replacing: float | None) -> _Reservation:
        log = self._memory.log
        contended = 0.0
        losses = 0
        while True:
            sent = self._trusted(log)
            if replacing is not None and replacing in sent:
                sent.remove(replacing)
            if losses > 1:
                self._back_off(sent, losses)
            slot = next_slot(sent, self._clock() + self._memory.lead(), self._rule)
            kept = tuple([*sent, slot][-self._rule.limit :])
            started = self._timer()
            try:
                version = self._write(kept, log.version)
            except _Lost as lost:
                contended += self._timer() - started
                log = lost.current
                self._memory.log = log
                if contended > self.GIVE_UP_SECONDS:
                    raise RetryableError("rate-limit window too contended; try again later") from None
                losses += 1
                continue
            self._memory.writes.append(self._timer() - started)
            self._memory.log = WindowLog(version, kept)
            return _Reservation(slot, window_bound(sent, self._rule))

    def _trusted(self, log: WindowLog) -> list[float]:
        """The log's times this host counts from: all of them, less an outlier, the one time beyond the horizon
        (``MAX_AHEAD_SECONDS`` after this host's clock) that is as far beyond every other time of the log. Any other
        time beyond the horizon, and this host's clock cannot be told from a wrong one: it refuses, and forgets its
        copy so that its next attempt reads the item again (an operator may have deleted it)."""
        horizon = self._clock() + self.MAX_AHEAD_SECONDS
        near = [moment for moment in log.sent if moment <= horizon]
        ahead = len(log.sent) - len(near)
        if ahead == 0 or (ahead == 1 and near and log.sent[-1] > near[-1] + self.MAX_AHEAD_SECONDS):
            return near
        self._memory.log = WindowLog(0)
        raise RetryableError(
            f"{ahead} of the {len(log.sent)} times in the rate-limit item {self._key['PK']} are more than "
            f"{self.MAX_AHEAD_SECONDS:.0f} s ahead of this host's clock: its clock is behind, or a host whose clock "
            "ran ahead wrote them; nothing was sent. If this host's clock is right, delete the item to start the "
            "tenant's window afresh"
        )

    def _back_off(self, sent: list[float], losses: int) -> None:
        """A first loss is expected (this process's copy was stale) and retried at once. More mean workers that
        started together and race for every version: spreading their retries over a few write times lets each
        win in turn instead of all losing again. Only while the slot is still ahead, though: a worker that holds
        no reservation when a slot comes due wastes that slot."""
        earliest = self._clock() + self._memory.lead()
        room = next_slot(sent, earliest, self._rule) - earliest
        write = max(self._memory.writes, default=0.01)
        # Never longer than a gap: by then another worker has written, and the copy is stale again.
        pause = random.uniform(0, min(write * 2 ** (losses - 1), self._rule.gap_seconds, room))  # noqa: S311
        if pause > 0:
            self._sleep(pause)

    def _write(self, kept: tuple[float, ...], version: int) -> int:
        # A new item starts at a random version: a copy cached before TTL removed an idle tenant's item must not
        # match the version of the item that replaces it.
        written = version + 1 if version else secrets.randbits(48) + 1
        # Two workers that saw the same version often compute the same slot, so only a mark of this very write
        # tells a resend that met its own write from a rival's.
        writer = secrets.randbits(63)
        item: dict[str, Any] = {
            **self._key,
            "sent": [Decimal(f"{value:.6f}") for value in kept],
            "version": written,
            "writer": writer,
            # The item is worthless a window after its last slot; let TTL clean up idle tenants.
            "expires_at": int(kept[-1] + self._rule.window_seconds + 3600),
        }
        try:
            if version == 0:
                self._table.put_item(
                    Item=item,
                    ConditionExpression="attribute_not_exists(PK)",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            else:
                self._table.put_item(
                    Item=item,
                    ConditionExpression="version = :seen",
                    ExpressionAttributeValues={":seen": version},
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                # Throttled or failed after the SDK's own retries. The write may still have landed, and its slot
                # is then a send that never happens: one slot of the window, the price of not knowing.
                raise RetryableError(f"the rate-limit window could not be written ({error})") from None
            returned: dict[str, Any] = error.response.get("Item") or {}  # type: ignore[assignment]
            if returned.get("writer") == {"N": str(writer)}:
                # The SDK resent a write whose answer was lost, and the resend met the write itself: it is ours.
                return written
            raise _Lost(_log_from(returned)) from None
        return written


_deserializer = TypeDeserializer()


def _log_from(raw: dict[str, Any] | None) -> WindowLog:
    """The item a refused write returned, in DynamoDB's wire format (the resource layer does not convert it)."""
    if not raw:
        return WindowLog(0)
    try:
        item = {name: _deserializer.deserialize(value) for name, value in raw.items()}
        version = item["version"]
        # Only a positive whole number can be matched by the next write's condition: a hand-edited 0 reads as "no
        # item" and a string never equals a number, so every write would be lost until the give-up, as contention.
        if not isinstance(version, Decimal) or version != version.to_integral_value() or version < 1:
            raise ValueError(f"version {version!r} is not a positive whole number")
        # Both limiters write the log sorted; a hand-edited one is sorted here, or its newest sends would be misread.
        return WindowLog(int(version), tuple(sorted(float(value) for value in item.get("sent", []))))
    except (KeyError, TypeError, ValueError) as error:
        key = raw.get("PK", {}).get("S", "?")
        raise RetryableError(
            f"the rate-limit item {key} is unreadable ({error!r}); delete it to start the tenant's window afresh"
        ) from None
