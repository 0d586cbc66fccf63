"""The image's HEALTHCHECK: exit 0 when this container's service answers, 1 otherwise.

GAMEMETRICS_HEALTHCHECK_URL names the URL to probe. Without it: the HTTP service's /healthz on
$PORT, or a worker's /metrics on $GAMEMETRICS_WORKER_METRICS_PORT, when set (the entry point and
the worker read the same variables); else the services' default ports, the first answering 200. Kubernetes ignores HEALTHCHECK: the chart has its own probes.
"""

import os
import sys
import urllib.request

DEFAULTS = (
    "http://127.0.0.1:8080/healthz",
    "http://127.0.0.1:8090/healthz",
    "http://127.0.0.1:8100/healthz",
    "http://127.0.0.1:9464/metrics",
)


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 - our own loopback URL
            return response.status == 200
    except OSError:
        return False


def main() -> int:
    env = os.environ
    if env.get("GAMEMETRICS_HEALTHCHECK_URL"):
        urls = [env["GAMEMETRICS_HEALTHCHECK_URL"]]
    elif env.get("PORT"):
        urls = [f"http://127.0.0.1:{env['PORT']}/healthz"]
    elif env.get("GAMEMETRICS_WORKER_METRICS_PORT"):
        urls = [f"http://127.0.0.1:{env['GAMEMETRICS_WORKER_METRICS_PORT']}/metrics"]
    else:
        urls = list(DEFAULTS)
    return 0 if any(answers(url) for url in urls) else 1


if __name__ == "__main__":
    sys.exit(main())
