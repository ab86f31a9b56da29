"""Child process of :class:`LocalLLMServer`: serve a GGUF model with xllamacpp.

Protocol with the parent: the configuration is a JSON object in ``argv[1]``; one JSON line
on stdout reports ``{"address": "http://127.0.0.1:<port>"}`` once the model is loaded and the
server listens (or ``{"error": "..."}``); the server stops when stdin reaches its end (the
parent closed it, or died).
"""

from __future__ import annotations

import json
import sys
from typing import Any


def _serve(config: dict[str, Any]) -> Any:
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = config["model_path"]
    params.model_alias = {config["model_alias"]}
    params.n_ctx = int(config["n_ctx"])
    params.hostnames = ["127.0.0.1"]
    params.port = 0  # an ephemeral port, reported back
    params.use_jinja = True  # chat templates with tool support
    params.verbosity = -1
    if config.get("n_threads"):
        params.cpuparams.n_threads = int(config["n_threads"])
        params.cpuparams_batch.n_threads = int(config["n_threads"])
    # Idle worker threads sleep instead of spinning: on a busy machine (an agent shares its
    # cores with audio and other jobs) spinning threads steal the CPU they wait for.
    params.cpuparams.poll = int(config.get("poll", 0))
    params.cpuparams_batch.poll = int(config.get("poll", 0))
    return xllamacpp.Server(params)


def main() -> int:
    config = json.loads(sys.argv[1])
    try:
        server = _serve(config)
    except Exception as exc:
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)
        return 1
    print(json.dumps({"address": server.listening_address}), flush=True)
    sys.stdin.buffer.read()  # blocks until the parent closes our stdin
    del server  # stops the HTTP server and frees the model
    return 0


if __name__ == "__main__":
    sys.exit(main())
