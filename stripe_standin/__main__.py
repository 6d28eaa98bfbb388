"""``python -m stripe_standin --port N``: run the local Stripe stand-in.

Listens on 127.0.0.1 only (``--port 0`` picks a free port), prints
``stripe-standin listening on http://127.0.0.1:PORT`` as its first stdout
line, serves until SIGINT or SIGTERM and exits 0.
"""

import argparse
import asyncio
import logging
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m stripe_standin",
        description="Local Stripe stand-in (localstripe + compatibility "
        "layer) for development and tests. Listens on "
        "127.0.0.1 only.",
    )
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 = pick a free one)")
    parser.add_argument("--access-log", action="store_true", help="log each request to stderr")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error("--port must be between 0 and 65535")

    logging.basicConfig(
        level=logging.INFO if args.access_log else logging.WARNING,
        stream=sys.stderr,
        format="stripe-standin: %(message)s",
    )

    # Check the pin before importing anything that patches localstripe.
    import localstripe

    from . import PINNED_LOCALSTRIPE

    if getattr(localstripe, "__version__", None) != PINNED_LOCALSTRIPE:
        print(
            f"stripe-standin: refusing to start: this compatibility layer "
            f"is pinned to localstripe=={PINNED_LOCALSTRIPE}, found "
            f"{getattr(localstripe, '__version__', 'unknown')}. Install "
            f"localstripe=={PINNED_LOCALSTRIPE}.",
            file=sys.stderr,
        )
        return 2

    from .server import serve

    try:
        asyncio.run(serve(port=args.port, access_log=args.access_log))
    except OSError as exc:
        print(f"stripe-standin: cannot listen on 127.0.0.1:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
