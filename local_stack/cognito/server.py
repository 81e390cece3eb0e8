"""Process entry point: moto's cognito-idp wire protocol on a loopback port, seeded at start."""

from __future__ import annotations

import argparse
import signal
import threading

from local_stack.cognito.models import LocalPool, seed


def main() -> None:
    parser = argparse.ArgumentParser(description="Local Cognito user pool (moto)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--user-pool-id", required=True)
    parser.add_argument("--client-id", required=True)
    args = parser.parse_args()

    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    seed(LocalPool(args.region, args.user_pool_id, args.client_id))
    server.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
