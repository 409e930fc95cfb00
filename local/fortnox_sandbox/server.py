"""The sandbox as a WSGI app, and the HTTP/1.1 server that serves it (and the local moto) on 127.0.0.1."""

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from cheroot.server import HTTPConnection, HTTPRequest
from cheroot.wsgi import Server
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from fortnox_sandbox import codes, tokens
from fortnox_sandbox.api import ROUTES
from fortnox_sandbox.control import Control
from fortnox_sandbox.errors import ApiError, AttachmentError, Unauthorized
from fortnox_sandbox.http_util import ApiContext, ApiRoute, json_response
from fortnox_sandbox.oauth import OAuthEndpoints
from fortnox_sandbox.state import LoggedRequest, SandboxState

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class DropConnection(Exception):
    """Raised by an app that `KeepAliveServer` serves: the connection closes without an answer, and the client sees
    a lost response."""


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
        return self._dispatch(Request(environ))(environ, start_response)

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
        self._log(request, response.status_code, None, request.form.get("grant_type"))
        if fault is not None and fault.kind == "drop_after_commit":
            raise DropConnection
        return response

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
        if fault is not None and fault.kind == "drop_after_commit":
            raise DropConnection
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
            raise DropConnection
        status = int(kind)
        self._log(request, status, tenant_id, client_id)
        if status == 429:
            return json_response({"message": "Too Many Requests"}, 429)
        return json_response({"ErrorInformation": {"error": 1, "message": "Systemfel.", "code": 1000003}}, 500)

    def _log(
        self,
        request: Request,
        status: int,
        tenant_id: int | None,
        client_id: str | None,
        response: Response | None = None,
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
                )
            )


REQUEST_LOG = logging.getLogger("werkzeug")
"""The sandbox's request log keeps the name it had under werkzeug's server: the local stack, the bench and the tests
turn it down or read it by that name."""

IDLE_SECONDS = 300
"""How long a kept-alive connection may idle before the server closes it. A client that sends on a connection the
server is closing that very moment sees a lost answer (it cannot tell it from a lost request), so the window is
made rare: longer than a test waits between two calls."""
THREADS = 32
"""Requests answered at once; more wait in the queue. Faults that hold a request (``timeout``) hold a thread."""
BACKLOG = 128
"""Connections waiting to be accepted, as werkzeug's server had: a hundred bench workers connect at once, and a
connect the backlog drops is retried by the kernel a second later."""


def _log(logger: logging.Logger, level: int, message: str, *args: object) -> None:
    # As werkzeug's server did: a logger nobody configured prints at INFO (``make sandbox`` shows its requests).
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)
    if not logger.handlers and not logging.getLogger().handlers:
        logger.addHandler(logging.StreamHandler())
    logger.log(level, message, *args)


def _text(value: str | bytes | None) -> str:
    """Printable: cheroot decodes the path's escapes, and a %0A must not start a line of its own in the log."""
    text = value.decode("latin-1") if isinstance(value, bytes) else value or ""
    return "".join(char if char.isprintable() else f"\\x{ord(char):02x}" for char in text)


class _LoggedRequest(HTTPRequest):
    """Logs a request's method, path and status, never its query: the consent page's query carries the OAuth state.
    An app's `DropConnection` closes the connection without an answer."""

    log: logging.Logger | None = None

    def respond(self) -> None:
        try:
            super().respond()
        except DropConnection:
            self.close_connection = True
            self.status = "0 dropped"  # the sandbox's own log says 0 for a lost answer too
        if self.log is not None:
            status = _text(self.status).split(" ", 1)[0] or "-"
            _log(self.log, logging.INFO, '"%s %s" %s', _text(self.method), _text(self.path) or "-", status)

    def simple_response(self, status: Any, msg: str = "") -> None:
        # Called for requests the server refuses before any app sees them; the request line is not repeated here.
        if self.log is not None and not self.ready:
            _log(self.log, logging.ERROR, "a malformed request was refused (%s)", str(status).split(" ", 1)[0])
        super().simple_response(status, msg)


class KeepAliveServer:
    """A WSGI app served over HTTP/1.1 with kept-alive connections, as Fortnox's and AWS's fronts keep them, from a
    background thread; ``log`` names the logger of its request lines (None: no request lines)."""

    def __init__(
        self, app: WsgiApp, *, host: str = "127.0.0.1", port: int = 0, name: str, log: logging.Logger | None
    ) -> None:
        request_class = type("Request", (_LoggedRequest,), {"log": log})
        self._server = Server(
            (host, port), app, numthreads=THREADS, server_name=name, timeout=IDLE_SECONDS, request_queue_size=BACKLOG
        )
        self._server.ConnectionClass = type("Connection", (HTTPConnection,), {"RequestHandlerClass": request_class})
        self._server.keep_alive_conn_limit = None  # type: ignore[assignment]
        self._server.error_log = self._error_log  # type: ignore[method-assign]
        self._errors = log or logging.getLogger(name)
        self._in_daemon_thread(self._server.prepare, name)
        self._thread = threading.Thread(target=self._server.serve, name=name, daemon=True)

    @staticmethod
    def _in_daemon_thread(step: Callable[[], None], name: str) -> None:
        """cheroot's worker threads are not daemons, and a thread inherits that from the thread that starts it: a
        server prepared (and served) from daemon threads lets a process that never stops it exit, as werkzeug's did."""
        failed: list[BaseException] = []

        def run() -> None:
            try:
                step()
            except BaseException as error:
                failed.append(error)

        thread = threading.Thread(target=run, name=f"{name}-prepare", daemon=True)
        thread.start()
        thread.join()
        if failed:
            raise failed[0]

    @property
    def url(self) -> str:
        host, port = self._server.bind_addr[:2]
        return f"http://{host}:{port}"

    def start(self) -> "KeepAliveServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.stop()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _error_log(self, msg: str = "", level: int = logging.INFO, traceback: bool = False) -> None:
        # Below WARNING cheroot reports clients that went away, which a lost-answer fault does on purpose.
        self._errors.log(level if level >= logging.WARNING else logging.DEBUG, "%s", msg, exc_info=traceback)


class SandboxServer:
    """Runs the sandbox in a background thread; ``url`` is where to point the bridge."""

    def __init__(self, app: SandboxApp | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app or SandboxApp()
        self._server = KeepAliveServer(self.app, host=host, port=port, name="fortnox-sandbox", log=REQUEST_LOG)

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def state(self) -> SandboxState:
        return self.app.state

    def start(self) -> "SandboxServer":
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
