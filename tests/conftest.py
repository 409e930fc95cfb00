"""Shared fixtures: the Fortnox sandbox and a moto server on 127.0.0.1, the synthesized stack, a tenant's client."""

import json
import logging
import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fortnox_bridge import wiring
from fortnox_bridge.fortnox.client import FortnoxClient
from fortnox_bridge.fortnox.ports import NoRateLimit, StaticToken
from fortnox_bridge.fortnox.retry import RetryPolicy
from fortnox_sandbox.control_client import AppCredentials, SandboxControl
from fortnox_sandbox.server import SandboxServer
from local_stack.moto_server import aws_environment, running_moto
from tests.iam_guard import Recorder, default_session

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "FortnoxBridgeTests")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: Any) -> Any:
    """Tests make no network calls beyond 127.0.0.1: anything else fails loudly."""
    if isinstance(address, tuple) and address[0] not in {"127.0.0.1", "localhost", "::1"}:
        raise RuntimeError(f"test tried to reach {address[0]}: only 127.0.0.1 is allowed")
    return _real_connect(self, address)


socket.socket.connect = _loopback_only  # type: ignore[method-assign]


class _EveryLogLine(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.dumps(record.__dict__, default=str))


SECRETS_OF_THE_SUITE = ["test-secret", "local-client-secret", "local-signing-key"]


@pytest.fixture(scope="session")
def log_capture() -> Iterator[_EveryLogLine]:
    """Every log line of the session, from the root logger and the bridge's Powertools logger."""
    from fortnox_bridge.observability import SERVICE

    capture = _EveryLogLine()
    watched = [logging.getLogger(), logging.getLogger(SERVICE)]
    for logger in watched:
        logger.addHandler(capture)
    yield capture
    for logger in watched:
        logger.removeHandler(capture)


@pytest.fixture(scope="session")
def sandbox(log_capture: _EveryLogLine) -> Iterator[SandboxServer]:
    """The sandbox; when the session ends, no token it issued and no secret of the suite may be in any log line."""
    with SandboxServer() as server:
        yield server
        leaked = [
            secret
            for secret in [*SECRETS_OF_THE_SUITE, *server.state.issued]
            if any(secret in line for line in log_capture.lines)
        ]
    if leaked:
        _SESSION_FAILURES.append(f"{len(leaked)} tokens or secrets reached a log line")
    assert leaked == [], f"{len(leaked)} tokens or secrets reached a log line"


_SESSION_FAILURES: list[str] = []
"""What the session-wide checks above found. Their assertions run in the teardown of the session's last test, and
pytest reports a teardown failure of a test marked xfail as that test failing as expected: the session must fail
all the same (``pytest_sessionfinish``)."""


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _SESSION_FAILURES:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session", autouse=True)
def iam_guard() -> Iterator[Recorder]:
    """When the session ends, every AWS call a function made under the runner is one its role in the template
    grants: moto grants everything, AWS does not (tests/iam_guard.py)."""
    recorder, session = Recorder(), default_session()
    recorder.install(session)
    yield recorder
    recorder.uninstall(session)
    refused = "\n".join(str(refusal) for refusal in recorder.refusals())
    if refused:
        _SESSION_FAILURES.append(
            f"AWS would refuse these calls, which their function's role does not grant:\n{refused}"
        )
    assert not refused, _SESSION_FAILURES[-1] if refused else ""


@pytest.fixture(scope="session")
def control(sandbox: SandboxServer) -> Iterator[SandboxControl]:
    client = SandboxControl(sandbox.url)
    yield client
    client.close()


@dataclass
class Scene:
    """A fresh sandbox with one app and one company, and the means to talk to it."""

    control: SandboxControl
    url: str
    app: AppCredentials
    tenant_id: int

    def new_company(self, name: str) -> int:
        """A company whose id no earlier test used: the moto table outlives each test's sandbox reset."""
        return self.control.create_company(uuid.uuid4().int % 900_000_000 + 100_000_000, name)

    def token(self, scope: str | None = None) -> str:
        if scope is None:
            return self.control.access_token(self.app, self.tenant_id)
        return self.control.access_token(self.app, self.tenant_id, scope)

    def client(
        self, *, token: str | None = None, retry: RetryPolicy | None = None, timeout: float = 5.0
    ) -> FortnoxClient:
        return FortnoxClient(
            base_url=self.url,
            tokens=StaticToken(token or self.token()),
            rate_limiter=NoRateLimit(),
            retry=retry or RetryPolicy(base_delay=0.01, max_delay=0.05),
            timeout=timeout,
        )


@pytest.fixture
def scene(sandbox: SandboxServer, control: SandboxControl) -> Scene:
    control.reset()
    control.set_rate_limit(25, 5.0)
    app = control.create_app("test-client", "test-secret", ["http://127.0.0.1/callback"])
    tenant_id = control.create_company(1000001, "Sandlådan Åkeri AB", "556677-8899")
    return Scene(control=control, url=sandbox.url, app=app, tenant_id=tenant_id)


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    with running_moto() as url:
        yield url


@pytest.fixture(scope="session")
def aws_env(moto_url: str) -> Iterator[dict[str, str]]:
    values = aws_environment(moto_url)
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    yield values
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def layer_dir() -> Path:
    """``LAYER_DIR`` lets test runs that happen at once build their layers apart."""
    from infra.layer import build

    return build(Path(os.environ["LAYER_DIR"])) if os.environ.get("LAYER_DIR") else build()


@pytest.fixture(scope="session")
def synthesized(layer_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from infra.app import build_app
    from infra.names import STACK_NAME
    from local_stack.stack import LOCAL_CLIENT_ID

    app = build_app(
        layer_dir=layer_dir,
        outdir=tmp_path_factory.mktemp("cdk.out"),
        context={"fortnox_client_id": LOCAL_CLIENT_ID},
    )
    assembly = app.synth()
    return assembly.get_stack_by_name(STACK_NAME)


@pytest.fixture(scope="session")
def template(synthesized: Any) -> dict[str, Any]:
    loaded: dict[str, Any] = synthesized.template
    return loaded


@pytest.fixture(scope="session")
def prod_template(layer_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A second stage, as an operator deploys it into the same account as the session's dev stage."""
    from infra.app import build_app
    from infra.names import stack_name

    app = build_app(
        layer_dir=layer_dir,
        outdir=tmp_path_factory.mktemp("prod.out"),
        context={"stage": "prod", "fortnox_client_id": "prod-client"},
    )
    loaded: dict[str, Any] = app.synth().get_stack_by_name(stack_name("prod")).template
    return loaded


@pytest.fixture(scope="session")
def deployed(template: dict[str, Any], aws_env: dict[str, str], moto_url: str, iam_guard: Recorder) -> Any:
    from local_stack.deploy import deploy

    stack = deploy(template, moto_url)
    iam_guard.watch(stack, template)
    return stack


@pytest.fixture
def table_name(deployed: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    name = next(value for key, value in deployed.physical_ids.items() if key.startswith("StateTable"))
    monkeypatch.setenv("TABLE_NAME", name)
    wiring.reset()
    return str(name)


@pytest.fixture
def table(table_name: str) -> Any:
    return wiring.table()


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:10]


LOCAL_API_KEY = "local-api-key"


def _physical(deployed: Any, prefix: str) -> str:
    return str(next(value for key, value in deployed.physical_ids.items() if key.startswith(prefix)))


@pytest.fixture(scope="session")
def gateway_port() -> int:
    from local_stack.moto_server import free_port

    return free_port()


@pytest.fixture
def runner(deployed: Any, scene: Scene, table: Any, gateway_port: int, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The local runner wired to the session's moto stack and the sandbox, with the stack's secrets in place."""
    import boto3

    from local_stack.moto_server import REGION
    from local_stack.runner import LocalRunner

    secrets = boto3.client("secretsmanager", region_name=REGION)
    secrets.put_secret_value(SecretId=_physical(deployed, "FortnoxClientSecret"), SecretString="test-secret")
    secrets.put_secret_value(SecretId=_physical(deployed, "ConnectSigningKey"), SecretString="local-signing-key")
    public_url = f"http://127.0.0.1:{gateway_port}"
    scene.control.create_app(scene.app.client_id, scene.app.client_secret, [f"{public_url}/oauth/callback"])
    overrides = {
        "FORTNOX_API_URL": scene.url,
        "FORTNOX_AUTH_URL": scene.url,
        "FORTNOX_CLIENT_ID": scene.app.client_id,
        "PUBLIC_BASE_URL": public_url,
        "POWERTOOLS_TRACE_DISABLED": "true",
        # Test webhook receivers listen on 127.0.0.1; a deployed stack never allows it (tests/infra/test_stack.py).
        "WEBHOOK_ALLOW_LOOPBACK": "true",
    }
    runner = LocalRunner(deployed, overrides=overrides)
    # Tests that call the domain directly see what the functions see.
    for name, value in runner.environment(runner.function("TenantProbe")).items():
        monkeypatch.setenv(name, value)
    wiring.reset()
    return runner


@pytest.fixture
def gateway(runner: Any, template: dict[str, Any], gateway_port: int) -> Iterator[Any]:
    from local_stack.api_gateway import LocalApiGateway

    server = LocalApiGateway(template, runner, api_key=LOCAL_API_KEY, port=gateway_port).start()
    yield server
    server.stop()


@pytest.fixture
def events_tap(deployed: Any) -> Iterator[Any]:
    from local_stack.event_tap import EventTap

    tap = EventTap(deployed.endpoint_url, _physical(deployed, "Events"))
    yield tap
    tap.close()


from tests.paying import payment_sync  # noqa: E402, F401  -- payment sync's fixture (issue 11), found by every test
from tests.webhook_receiver import webhook_receiver, webhooks  # noqa: E402, F401  -- webhooks' fixtures (issue 11)
