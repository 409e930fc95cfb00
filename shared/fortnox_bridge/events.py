"""Events the bridge publishes upstream, on the product's EventBridge bus."""

from typing import TYPE_CHECKING, Any, Protocol

from fortnox_bridge import json_codec

if TYPE_CHECKING:
    from mypy_boto3_events.client import EventBridgeClient

SOURCE = "fortnox-bridge"


class EventPublisher(Protocol):
    def publish(self, detail_type: str, detail: dict[str, Any]) -> None: ...


class EventBridgePublisher:
    def __init__(self, client: "EventBridgeClient", bus_name: str) -> None:
        self._client = client
        self._bus = bus_name

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        answer = self._client.put_events(
            Entries=[
                {
                    "Source": SOURCE,
                    "DetailType": detail_type,
                    "Detail": json_codec.dumps(detail),
                    "EventBusName": self._bus,
                }
            ]
        )
        if answer.get("FailedEntryCount"):
            raise RuntimeError(f"EventBridge refused {detail_type}: {answer['Entries']}")
