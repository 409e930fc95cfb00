"""What every resource shares: the transport it calls and how an answer's object is taken out of its envelope."""

from typing import Any, TypeVar
from urllib.parse import quote

from pydantic import BaseModel

from fortnox_bridge.fortnox.errors import FortnoxUnexpectedResponse
from fortnox_bridge.fortnox.http import FortnoxHttp

ModelT = TypeVar("ModelT", bound=BaseModel)


def segment(value: str | int) -> str:
    return quote(str(value), safe="")


def unwrap(body: Any, key: str, model: type[ModelT], path: str) -> ModelT:
    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise FortnoxUnexpectedResponse(f"{path} did not return a {key} object", status=200)
    return model.model_validate(body[key])


class Resource:
    def __init__(self, http: FortnoxHttp) -> None:
        self._http = http
