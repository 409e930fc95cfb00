"""The HTTP API of the template, served on 127.0.0.1: routes, payload format 2.0, and the handlers behind them.

Routes, methods and which function serves each come from the synthesized template. AWS checks IAM signatures on
the management routes; locally an API key in ``x-api-key`` stands in for them (docs/decisions.md).
"""

import base64
import re
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from local_stack.runner import LocalRunner
from local_stack.template import FunctionSpec


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    pattern: re.Pattern[str]
    function_id: str
    iam: bool

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


def routes(template: dict[str, Any]) -> list[Route]:
    resources: dict[str, Any] = template["Resources"]
    integrations = {
        logical_id: resource["Properties"]["IntegrationUri"]["Fn::GetAtt"][0]
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::ApiGatewayV2::Integration"
    }
    found = []
    for resource in resources.values():
        if resource["Type"] != "AWS::ApiGatewayV2::Route":
            continue
        properties = resource["Properties"]
        method, path = properties["RouteKey"].split(" ", 1)
        target = next(part["Ref"] for part in properties["Target"]["Fn::Join"][1] if isinstance(part, dict))
        pattern = re.compile("^" + re.sub(r"\{([^}]+)\}", r"(?P<\1>[^/]+)", path) + "$")
        found.append(
            Route(method, path, pattern, integrations[target], properties.get("AuthorizationType") == "AWS_IAM")
        )
    return found


ROUTE_KEY = "local_stack.route_key"
"""Where the gateway leaves the matched route's key in the WSGI environ, for the request log."""


class RouteKeyRequestLog(WSGIRequestHandler):
    """Logs the route a request matched, never its path or query, as the deployed API's access log does: the paths
    /connect/{link_token} and /status/{token} are bearer links, and the OAuth callback's query has code and state."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        environ = getattr(self, "environ", None) or {}
        self.log("info", '"%s" %s %s', environ.get(ROUTE_KEY, "-"), code, size)

    def log_error(self, format: str, *args: Any) -> None:
        # The standard messages quote the raw request line; its status code is all a reader needs.
        self.log("error", "a malformed request was refused (%s)", args[0] if args else "-")


class LocalApiGateway:
    def __init__(self, template: dict[str, Any], runner: LocalRunner, *, api_key: str, port: int = 0) -> None:
        self._routes = routes(template)
        self._runner = runner
        self._api_key = api_key
        self._functions: dict[str, FunctionSpec] = {}
        self._server: BaseWSGIServer = make_server(
            "127.0.0.1", port, self._app, threaded=True, request_handler=RouteKeyRequestLog
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-api-gateway", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> "LocalApiGateway":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        return self._answer(request)(environ, start_response)

    def _answer(self, request: Request) -> Response:
        for route in self._routes:
            match = route.pattern.match(request.path)
            if match is None or route.method != request.method:
                continue
            request.environ[ROUTE_KEY] = route.route_key
            if route.iam and request.headers.get("x-api-key") != self._api_key:
                return Response('{"message":"Forbidden"}', status=403, content_type="application/json")
            spec = self._runner.function_by_id(route.function_id)
            try:
                result = self._runner.invoke(spec, self._event(request, route, match.groupdict()))
            except Exception:  # a crashed function: API Gateway answers 500 and the logs say why
                return Response('{"message":"Internal Server Error"}', status=500, content_type="application/json")
            return self._response(result)
        return Response('{"message":"Not Found"}', status=404, content_type="application/json")

    @staticmethod
    def _event(request: Request, route: Route, path_parameters: dict[str, str]) -> dict[str, Any]:
        body = request.get_data()
        text_body = body.decode() if body else None
        now = time.time()
        return {
            "version": "2.0",
            "routeKey": route.route_key,
            "rawPath": request.path,
            "rawQueryString": request.query_string.decode(),
            "cookies": [],
            "headers": {name.lower(): value for name, value in request.headers.items()},
            "queryStringParameters": {name: ",".join(request.args.getlist(name)) for name in request.args} or None,
            "pathParameters": path_parameters or None,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "local",
                "domainName": request.host,
                "domainPrefix": "local",
                "http": {
                    "method": request.method,
                    "path": request.path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": request.remote_addr or "127.0.0.1",
                    "userAgent": request.headers.get("User-Agent", ""),
                },
                "requestId": str(uuid.uuid4()),
                "routeKey": route.route_key,
                "stage": "$default",
                "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
                "timeEpoch": int(now * 1000),
            },
            "body": text_body,
            "isBase64Encoded": False,
        }

    @staticmethod
    def _response(result: dict[str, Any]) -> Response:
        body = result.get("body") or ""
        content = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
        response = Response(content, status=int(result.get("statusCode", 200)))
        for name, value in (result.get("headers") or {}).items():
            response.headers[name] = value
        for cookie in result.get("cookies") or []:
            response.headers.add("Set-Cookie", cookie)
        return response
