"""``fortnox-bridge``: local tools. ``fortnox-bridge sandbox`` serves the Fortnox sandbox on 127.0.0.1."""

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
    arguments = parser.parse_args(argv)

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


if __name__ == "__main__":
    raise SystemExit(main())
