"""The chart's PrometheusRule: rendered, checked by `promtool check rules`, and its alerts unit
tested with `promtool test rules` (helm/gamemetrics/tests/alerts/alerts_test.yaml)."""

from __future__ import annotations

import re
import shutil

import yaml

from gamemetrics import metric_defs
from tests.deploy.tools import CHART, helm_template, run, tool

ALERT_TESTS = CHART / "tests" / "alerts" / "alerts_test.yaml"
# Metrics named by the rules before their stage defines them (none left: recommender and retention merged).
PENDING_METRICS: set[str] = set()


def rules_file(tmp_path, *sets: str):
    rendered = helm_template(None, "secrets.existingSecret=s", "kafka.securityProtocol=PLAINTEXT",
                             "monitoring.prometheusRule.enabled=true", *sets, show_only="templates/prometheusrule.yaml")
    spec = yaml.safe_load(rendered)["spec"]
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path, spec


def test_promtool_accepts_the_rules(tmp_path):
    path, _ = rules_file(tmp_path)
    done = run(tool("promtool"), "check", "rules", str(path))
    assert "SUCCESS" in done.stdout + done.stderr


def test_the_alerts_fire_as_their_unit_tests_say(tmp_path):
    rules_file(tmp_path)
    shutil.copy(ALERT_TESTS, tmp_path / "alerts_test.yaml")
    done = run(tool("promtool"), "test", "rules", str(tmp_path / "alerts_test.yaml"))
    assert "SUCCESS" in done.stdout + done.stderr


def test_a_broken_expectation_fails_the_alert_tests(tmp_path):
    """The unit tests can fail: with the warning threshold of CPU raised to 95 % the 80 % pod no longer alerts."""
    rules_file(tmp_path, "monitoring.prometheusRule.thresholds.cpuPercent.warning=95")
    shutil.copy(ALERT_TESTS, tmp_path / "alerts_test.yaml")
    import subprocess

    done = subprocess.run([tool("promtool"), "test", "rules", str(tmp_path / "alerts_test.yaml")], capture_output=True, text=True)
    assert done.returncode != 0
    assert "GameMetricsCPUHigh" in done.stdout + done.stderr


def test_the_seed_thresholds_are_the_defaults(tmp_path):
    _, spec = rules_file(tmp_path)
    alerts = {rule["alert"]: rule["expr"] for group in spec["groups"] for rule in group["rules"] if "alert" in rule}
    expected = {
        "GameMetricsCPUHigh": "> 70", "GameMetricsCPUHighCritical": "> 85",
        "GameMetricsMemoryHigh": "> 80", "GameMetricsMemoryHighCritical": "> 90",
        "GameMetricsSlowResponses": "> 1000", "GameMetricsSlowResponsesCritical": "> 2000",
        "GameMetricsErrorRate": "> 1", "GameMetricsErrorRateCritical": "> 5",
        "GameMetricsDatabaseConnections": "> 150", "GameMetricsDatabaseConnectionsCritical": "> 180",
    }
    for name, threshold in expected.items():
        assert alerts[name].endswith(threshold), (name, alerts[name])


def test_every_project_metric_the_rules_use_exists(tmp_path):
    """gamemetrics_* names in the rules and dashboards are real metrics of gamemetrics/metric_defs.py."""
    _, spec = rules_file(tmp_path)
    defined = set()
    for value in vars(metric_defs).values():
        name = getattr(value, "_name", None)
        if isinstance(name, str):
            defined.add(name.removesuffix("_total"))
    text = yaml.safe_dump(spec) + "".join(p.read_text() for p in (CHART / "files" / "dashboards").glob("*.json"))
    used = {re.sub(r"_(bucket|count|sum|total)$", "", m) for m in re.findall(r"\bgamemetrics_[a-z_]+", text)}
    missing = used - defined - PENDING_METRICS
    assert not missing, f"metrics used but not defined in gamemetrics/metric_defs.py: {sorted(missing)}"
