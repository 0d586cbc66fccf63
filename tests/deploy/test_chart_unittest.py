"""The chart's helm-unittest suites (helm/gamemetrics/tests/*_test.yaml): the security context,
the network policies, the Strimzi topics and users, KEDA's cap, the notification split and tracing."""

from __future__ import annotations

import re

from tests.deploy.tools import CHART, run, tool


def test_the_chart_unit_tests_pass():
    done = run(tool("helm-unittest"), "--color=false", str(CHART))
    summary = re.search(r"Tests:\s+(\d+) passed, (\d+) total", done.stdout)
    assert summary, done.stdout[-2000:]
    assert summary.group(1) == summary.group(2) and int(summary.group(2)) >= 30, done.stdout[-2000:]
    for suite in ("security_test.yaml", "networkpolicy_test.yaml", "strimzi_test.yaml", "keda_test.yaml",
                  "split_tracing_test.yaml", "privacy_test.yaml"):
        assert f"tests/{suite}" in done.stdout
