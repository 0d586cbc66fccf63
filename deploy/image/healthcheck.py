"""The image's HEALTHCHECK: exit 0 when this container's service answers, 1 otherwise.

GAMEMETRICS_HEALTHCHECK_URL names the URL to probe. Without it the well-known endpoints of the
image's services are tried (ingest, GraphQL, recommender /healthz; a worker's /metrics) and the
first that answers 200 counts. Kubernetes ignores HEALTHCHECK: the chart has its own probes.
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
    urls = [os.environ["GAMEMETRICS_HEALTHCHECK_URL"]] if os.environ.get("GAMEMETRICS_HEALTHCHECK_URL") else DEFAULTS
    return 0 if any(answers(url) for url in urls) else 1


if __name__ == "__main__":
    sys.exit(main())
