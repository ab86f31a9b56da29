"""``python -m vagent.testing.fake_server``: run the fake LiveKit server for local development.

Workers connect with ``--url ws://127.0.0.1:<port> --api-key <key> --api-secret <secret>``;
dispatch a job with ``curl -X POST http://127.0.0.1:<http-port>/dispatch -d '{"room": "r"}'``.
"""

from __future__ import annotations

import argparse
import logging
import sys

import trio

from .server import DEFAULT_API_KEY, DEFAULT_API_SECRET, FakeLiveKitServer


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m vagent.testing.fake_server",
        description="A fake LiveKit server (agent protocol only) for local development.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7880, help="WebSocket port (0: any)")
    parser.add_argument(
        "--http-port", type=int, default=None, help="control API port (default: --port + 1)"
    )
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--api-secret", default=DEFAULT_API_SECRET)
    parser.add_argument("--availability-timeout", type=float, default=10.0)
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    http_port = (
        args.http_port if args.http_port is not None else (args.port + 1 if args.port else 0)
    )
    server = FakeLiveKitServer(
        api_key=args.api_key,
        api_secret=args.api_secret,
        host=args.host,
        port=args.port,
        http_port=http_port,
        availability_timeout=args.availability_timeout,
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        print(f"fake LiveKit server: {server.url} (control API: {server.http_url})", flush=True)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    try:
        trio.run(serve, args)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
