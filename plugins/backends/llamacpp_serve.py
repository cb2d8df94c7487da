"""Serve a GGUF model over OpenAI-style HTTP with xllamacpp (no compiler, no extra install).

    python -m mmrefine_plugins.backends.llamacpp_serve --port 8080 [--model PATH] [--alias NAME]

Defaults: the packaged SmolLM2-135M, alias ``smollm2``, 127.0.0.1, ``--n-ctx 4096``. It prints
``serving NAME at http://HOST:PORT/v1`` once the model is loaded (``--port 0``: the OS picks
the port) and serves ``/v1/models`` and ``/v1/chat/completions`` (llama.cpp's own server code)
until interrupted. Point a run at it with ``model.backend=litellm``,
``model.name=openai/NAME`` and ``model.api_base`` = the printed URL.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Load the model, print where it is served, and serve until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--model", help="a GGUF file (default: the packaged SmolLM2-135M)")
    parser.add_argument("--alias", default="smollm2", help="the model name clients send")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0: the OS picks one")
    parser.add_argument("--n-ctx", type=int, default=4096)
    parser.add_argument("--n-threads", type=int, default=0, help="0: llama.cpp's default")
    parser.add_argument("--parallel", type=int, default=1, help="slots served at once")
    args = parser.parse_args(argv)

    from mmrefine_agent import PermanentModelError
    from mmrefine_plugins.backends.llamacpp_backend import packaged_model_path

    try:
        import xllamacpp

        path = Path(args.model) if args.model else packaged_model_path()
    except (ImportError, PermanentModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not path.is_file():
        print(f"error: no model file at {path}", file=sys.stderr)
        return 2
    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    params.model_alias = {args.alias}
    params.hostnames = [args.host]
    params.port = args.port
    params.n_parallel = max(1, args.parallel)
    params.n_ctx = args.n_ctx * params.n_parallel  # every slot gets --n-ctx
    params.verbosity = -1
    if args.n_threads:
        params.cpuparams.n_threads = args.n_threads
        params.cpuparams_batch.n_threads = args.n_threads
    try:
        server = xllamacpp.Server(params)
    except Exception as exc:  # the binding raises plain RuntimeErrors (bad file, port taken)
        print(f"error: could not serve {path.name}: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    print(f"serving {args.alias} at {server.listening_address}/v1", flush=True)
    stop.wait()
    del server
    return 0


if __name__ == "__main__":
    sys.exit(main())
