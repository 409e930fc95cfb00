"""The sandbox as a WSGI app and a threaded server on 127.0.0.1."""

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from fortnox_sandbox import codes, tokens
from fortnox_sandbox.api import ROUTES
from fortnox_sandbox.control import Control
from fortnox_sandbox.errors import ApiError, AttachmentError, Unauthorized
from fortnox_sandbox.http_util import ApiContext, ApiRoute, json_response
from fortnox_sandbox.oauth import OAuthEndpoints
from fortnox_sandbox.state import Fault, LoggedRequest, SandboxState

StartResponse = Callable[..., Any]


def _server_error() -> Response:
    return json_response({"ErrorInformation": {"error": 1, "message": "Systemfel.", "code": 1000003}}, 500)


class _DropConnection(Exception):
    """Close the socket without an answer: the client sees a lost response."""


class SandboxApp:
    def __init__(self, state: SandboxState | None = None) -> None:
        self.state = state or SandboxState()
        self.oauth = OAuthEndpoints(self.state)
        self.control = Control(self.state, self.oauth)
        rules = [
            Rule("/oauth-v1/auth", methods=["GET"], endpoint=("oauth", self.oauth.authorize_page)),
            Rule("/oauth-v1/auth", methods=["POST"], endpoint=("oauth", self.oauth.authorize_decision)),
            Rule("/oauth-v1/token", methods=["POST"], endpoint=("oauth", self.oauth.token)),
            Rule("/oauth-v1/revoke", methods=["POST"], endpoint=("oauth", self.oauth.revoke)),
        ]
        rules += [
            Rule(path, methods=[method], endpoint=("control", handler))
            for method, path, handler in self.control.routes()
        ]
        rules += [Rule(route.path, methods=[route.method], endpoint=("api", route)) for route in ROUTES]
        self.routes = Map(rules, strict_slashes=False, merge_slashes=False)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self._dispatch(request)
        except _DropConnection:
            connection = environ.get("werkzeug.socket")
            if isinstance(connection, socket.socket):
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
            response = Response(b"", status=500)
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        adapter = self.routes.bind_to_environ(request.environ)
        try:
            (kind, target), values = adapter.match()
        except NotFound:
            return self._not_found(request)
        except MethodNotAllowed:
            return self._not_found(request)
        except HTTPException as error:
            return Response(str(error), status=error.code or 400)
        if kind == "oauth":
            return self._oauth(request, target)
        if kind == "control":
            return target(request, **values)  # type: ignore[no-any-return]
        return self._api(request, target, values)

    def _oauth(self, request: Request, endpoint: Callable[[Request], Response]) -> Response:
        """The token endpoint takes faults too: a refresh whose answer is lost is the hard case of token rotation."""
        fault = self.state.take_fault(request.method, request.path, None)
        if fault is not None and fault.kind in {"500", "429", "timeout"}:
            return self._inject(request, fault.kind, fault.delay_seconds, None, None)
        response = endpoint(request)
        credentials = request.authorization
        client_id = credentials.username if credentials is not None else request.form.get("client_id")
        self._log(request, response.status_code, None, client_id, grant_type=request.form.get("grant_type"))
        return self._after_commit(fault, response)

    def _not_found(self, request: Request) -> Response:
        if request.path.startswith(("/3/", "/api/")):
            self._log(request, 404, None, None)
            return json_response(ApiError(codes.RESOURCE_NOT_FOUND).body(), 404)
        return Response("Not Found", status=404)

    def _api(self, request: Request, route: ApiRoute, values: Mapping[str, Any]) -> Response:
        try:
            claims = tokens.verify(self.state, request.headers.get("Authorization"))
        except Unauthorized:
            self._log(request, 401, None, None)
            return json_response({"message": "unauthorized"}, 401)
        tenant_id: int = claims["tenantId"]
        client_id: str = claims["clientId"]

        fault = self.state.take_fault(request.method, request.path, tenant_id)
        if fault is not None and fault.kind in {"500", "429", "timeout"}:
            return self._inject(request, fault.kind, fault.delay_seconds, tenant_id, client_id)

        if not self.state.admit(client_id, tenant_id):
            self._log(request, 429, tenant_id, client_id)
            return json_response({"message": "Too Many Requests"}, 429)

        try:
            response = self._handle(request, route, values, claims)
        except ApiError as error:
            response = json_response(error.body(), error.status)
        except AttachmentError as error:
            response = json_response(
                {"error": error.error, "id": request.environ.get("REQUEST_ID", ""), "message": error.message},
                error.status,
            )
        self._log(request, response.status_code, tenant_id, client_id, response)
        return self._after_commit(fault, response)

    @staticmethod
    def _after_commit(fault: Fault | None, response: Response) -> Response:
        """The request did its work; a fault of the after-commit kinds takes its answer away (a dropped connection)
        or puts Fortnox's server error in its place (a gateway or a late failure after the change was saved)."""
        if fault is None:
            return response
        if fault.kind == "drop_after_commit":
            raise _DropConnection
        if fault.kind == "500_after_commit":
            return _server_error()
        return response

    def _handle(self, request: Request, route: ApiRoute, values: Mapping[str, Any], claims: dict[str, Any]) -> Response:
        scopes = set(str(claims.get("scope", "")).split())
        if route.scope not in scopes:
            raise ApiError(codes.MISSING_SCOPE)
        if request.method in {"POST", "PUT"} and not route.multipart:
            content_type = request.headers.get("Content-Type", "")
            if not content_type.startswith("application/json"):
                raise ApiError(codes.INVALID_CONTENT_TYPE)
        with self.state.lock:
            company = self.state.company(claims["tenantId"])
            context = ApiContext(state=self.state, company=company, client_id=claims["clientId"], request=request)
            return route.handler(context, **values)

    def _inject(
        self, request: Request, kind: str, delay: float, tenant_id: int | None, client_id: str | None
    ) -> Response:
        if kind == "timeout":
            time.sleep(delay)
            self._log(request, 0, tenant_id, client_id)
            raise _DropConnection
        status = int(kind)
        self._log(request, status, tenant_id, client_id)
        if status == 429:
            return json_response({"message": "Too Many Requests"}, 429)
        return _server_error()

    def _log(
        self,
        request: Request,
        status: int,
        tenant_id: int | None,
        client_id: str | None,
        response: Response | None = None,
        *,
        grant_type: str | None = None,
    ) -> None:
        with self.state.lock:
            self.state.requests.append(
                LoggedRequest(
                    method=request.method,
                    path=request.path,
                    query=request.query_string.decode(),
                    status=status,
                    tenant_id=tenant_id,
                    client_id=client_id,
                    time=time.time(),
                    request_body=request.get_data(),
                    request_content_type=request.headers.get("Content-Type", ""),
                    response_body=response.get_data() if response is not None else b"",
                    grant_type=grant_type,
                )
            )


class RequestLog(WSGIRequestHandler):
    """Logs a request's method, path and status, never its query: the consent page's query carries the OAuth state,
    which werkzeug's own line prints with the rest of the request target."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = urlsplit(getattr(self, "path", "")).path.translate(self._control_char_table)
        self.log("info", '"%s %s" %s %s', getattr(self, "command", "-"), path or "-", code, size)

    def log_error(self, format: str, *args: Any) -> None:
        # The standard messages quote the raw request line, query and all; its status code is all a reader needs.
        self.log("error", "a malformed request was refused (%s)", args[0] if args else "-")


class SandboxServer:
    """Runs the sandbox in a background thread; ``url`` is where to point the bridge."""

    def __init__(self, app: SandboxApp | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app or SandboxApp()
        self._server: BaseWSGIServer = make_server(host, port, self.app, threaded=True, request_handler=RequestLog)
        self._thread = threading.Thread(target=self._server.serve_forever, name="fortnox-sandbox", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host if isinstance(host, str) else host.decode()}:{port}"

    @property
    def state(self) -> SandboxState:
        return self.app.state

    def start(self) -> "SandboxServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
