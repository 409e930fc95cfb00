"""``fortnox-bridge``: local tools. ``fortnox-bridge sandbox`` serves the Fortnox sandbox on 127.0.0.1;
``fortnox-bridge redrive`` moves dead letters back to their queue (AWS credentials and region from the
environment, ``AWS_ENDPOINT_URL`` for the local stack)."""

import argparse
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fortnox-bridge")
    commands = parser.add_subparsers(dest="command", required=True)
    sandbox = commands.add_parser("sandbox", help="serve the Fortnox sandbox on 127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8765)
    sandbox.add_argument("--rate-limit", type=int, default=25, help="requests per window (Fortnox: 25)")
    sandbox.add_argument("--rate-window", type=float, default=5.0, help="window in seconds (Fortnox: 5)")
    sandbox.add_argument("--demo-company", action="store_true", help="seed a company, an app and print them")
    redrive = commands.add_parser("redrive", help="move dead letters back to their queue once the cause is fixed")
    redrive.add_argument(
        "--queue-url", required=True, help="the work queue (stack output InvoiceQueueUrl or VoucherQueueUrl)"
    )
    redrive.add_argument("--tenant", help="only this tenant's messages; without it, every dead letter")
    arguments = parser.parse_args(argv)
    if arguments.command == "redrive":
        return _redrive(arguments.queue_url, arguments.tenant)

    from fortnox_sandbox.server import SandboxApp, SandboxServer
    from fortnox_sandbox.state import SandboxState

    state = SandboxState(rate_limit=arguments.rate_limit, rate_window_seconds=arguments.rate_window)
    server = SandboxServer(SandboxApp(state), port=arguments.port).start()
    print(f"Fortnox sandbox on {server.url}: API /3/ and /api/, OAuth /oauth-v1/, control /_sandbox/")
    if arguments.demo_company:
        from fortnox_sandbox.fixtures import seed_demo

        for line in seed_demo(state):
            print(line)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
    return 0


def _redrive(queue_url: str, tenant: str | None) -> int:
    import boto3

    from fortnox_bridge_cli.redrive import redrive

    moved = redrive(boto3.client("sqs"), queue_url, tenant=tenant)
    print(f"{moved} dead letter(s){f' of tenant {tenant}' if tenant else ''} moved back to {queue_url}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
