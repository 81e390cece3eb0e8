"""Process entry point: moto's cognito-idp wire protocol on a loopback port, seeded at start."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path

from local_stack.cognito import signing_keys
from local_stack.cognito.models import LocalPool, seed


def main() -> None:
    parser = argparse.ArgumentParser(description="Local Cognito user pool (moto)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--user-pool-id", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--keys-file", type=Path, help="where the pools' private signing keys are written (local only)")
    args = parser.parse_args()

    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    # Werkzeug's access log would write client addresses; the emulator logs warnings only.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    signing_keys.install(args.keys_file)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    seed(LocalPool(args.region, args.user_pool_id, args.client_id))
    signing_keys.KEYS.current(args.user_pool_id)  # the key file exists once the stack is up
    server.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    # Key rotation on demand, as Cognito rotates a pool's signing keys.
    signal.signal(signal.SIGUSR1, lambda *_: signing_keys.KEYS.rotate())
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
