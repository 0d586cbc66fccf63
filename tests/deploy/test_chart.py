"""The Helm chart, checked offline: lint, and every ci/ scenario rendered and validated strictly.

Built-in kinds are validated by kubeconform against the Kubernetes schemas bundled in the PyPI
package kubernetes-validate (made standalone by k8s_schemas.py); the CRDs (Strimzi, KEDA,
Prometheus operator, External Secrets) against the minimal schemas in
helm/gamemetrics/tests/crd-schemas/, since no offline copy of their CRDs exists here.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.k8s_schemas import schema_stem, standalone_schemas
from tests.deploy.tools import CHART, KUBERNETES_VERSION, helm_template, run, scenarios, tool

CRD_SCHEMAS = CHART / "tests" / "crd-schemas"


def documents(rendered: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(rendered) if d]


def kubeconform(manifests: Path, schema_root: Path) -> subprocess.CompletedProcess:
    """kubeconform -strict over ``manifests``: built-in kinds from ``schema_root``, CRDs from crd-schemas/."""
    return subprocess.run(
        [tool("kubeconform"), "-strict", "-summary", "-output", "json", "-kubernetes-version", KUBERNETES_VERSION,
         "-schema-location", str(schema_root) + "/{{ .NormalizedKubernetesVersion }}-standalone-strict/{{ .ResourceKind }}{{ .KindSuffix }}.json",
         "-schema-location", str(CRD_SCHEMAS) + "/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json",
         str(manifests)],
        capture_output=True, text=True, timeout=300,
    )


@pytest.fixture(scope="module")
def schema_root(tmp_path_factory) -> Path:
    pytest.importorskip("kubernetes_validate", reason="pip install kubernetes-validate (the offline Kubernetes schemas)")
    kinds = set()
    for values in scenarios():
        kinds |= {schema_stem(d["apiVersion"], d["kind"]) for d in documents(helm_template(values))}
    root = tmp_path_factory.mktemp("k8s-schemas")
    standalone_schemas(KUBERNETES_VERSION, kinds, root)
    return root


def test_helm_lint_passes_for_every_scenario():
    for values in scenarios():
        run(tool("helm"), "lint", "--strict", "--kube-version", KUBERNETES_VERSION, str(CHART), "-f", str(values))


@pytest.mark.parametrize("values", scenarios(), ids=lambda p: p.name)
def test_every_resource_of_a_scenario_validates_strictly(values, schema_root, tmp_path):
    rendered = helm_template(values)
    manifests = tmp_path / "manifests.yaml"
    manifests.write_text(rendered)
    done = kubeconform(manifests, schema_root)
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["summary"]["invalid"] == 0 and report["summary"]["errors"] == 0, report["resources"]
    assert report["summary"]["valid"] == len(documents(rendered))


def test_the_validation_refuses_a_misspelt_field(schema_root, tmp_path):
    """The check can fail: an unknown field (strict) in a Deployment and in a KafkaTopic is refused."""
    docs = documents(helm_template(CHART / "ci" / "strimzi-keda-values.yaml"))
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContex"] = {}
    topic = next(d for d in docs if d["kind"] == "KafkaTopic")
    topic["spec"]["partition"] = 3
    manifests = tmp_path / "bad.yaml"
    manifests.write_text(yaml.safe_dump_all([deployment, topic]))
    done = kubeconform(manifests, schema_root)
    assert done.returncode != 0
    assert json.loads(done.stdout)["summary"]["invalid"] == 2


def test_secrets_never_come_from_values():
    """Without existingSecret or an ExternalSecret the chart refuses to render, saying what to set."""
    args = [tool("helm"), "template", "gm", str(CHART), "--kube-version", KUBERNETES_VERSION,
            "--set", "kafka.securityProtocol=PLAINTEXT"]
    done = subprocess.run(args, capture_output=True, text=True)
    assert done.returncode != 0
    assert "set secrets.existingSecret (a Secret you manage) or secrets.externalSecret.enabled" in done.stderr


def test_no_rendered_resource_carries_a_secret_value():
    for values in scenarios():
        for doc in documents(helm_template(values)):
            assert doc["kind"] != "Secret", f"{values.name}: the chart must not render Secrets"
            for container in _containers(doc):
                for env in container.get("env", []):
                    if any(word in env["name"] for word in ("PASSWORD", "SECRET", "DATABASE_URL", "REDIS_URL", "API_KEY", "_KEY")):
                        assert "valueFrom" in env and "value" not in env, (values.name, doc["metadata"]["name"], env)


def test_sasl_without_credentials_is_refused_with_the_user_named():
    done = subprocess.run(
        [tool("helm"), "template", "gm", str(CHART), "--kube-version", KUBERNETES_VERSION, "--set", "secrets.existingSecret=s"],
        capture_output=True, text=True,
    )
    assert done.returncode != 0
    assert re.search(r"kafka\.users\.(ingest|landing|graphql|recommender|retention): give username and passwordSecret, "
                     r"or enable strimzi\.users \(protocol SASL_SSL needs SASL credentials\)", done.stderr), done.stderr


def test_every_value_is_commented():
    """Every leaf value of values.yaml has a `# --` comment above it or above one of its parents."""
    assert not undocumented_values((CHART / "values.yaml").read_text().splitlines())


def undocumented_values(lines: list[str]) -> list[str]:
    """Leaf keys (``key: value`` on one line) with no `# --` comment above them or an ancestor."""
    stack: list[tuple[int, bool]] = []  # (indent, documented) of the open parent keys
    missing = []
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or stripped.startswith("- ") or ":" not in stripped:
            continue
        indent = len(line) - len(line.lstrip())
        while stack and stack[-1][0] >= indent:
            stack.pop()
        j = i - 1
        while j >= 0 and lines[j].strip().startswith("#") and not lines[j].strip().startswith("# --"):
            j -= 1
        documented = (j >= 0 and lines[j].strip().startswith("# --")) or any(doc for _, doc in stack)
        is_leaf = stripped.split(":", 1)[1].strip() != ""
        if is_leaf and not documented:
            missing.append(f"{i + 1}: {stripped}")
        if not is_leaf:
            stack.append((indent, documented))
    return missing


def test_the_comment_check_finds_an_undocumented_value():
    lines = ["a:", "  # -- documented", "  b: 1", "  c: 2", "# -- a block", "d:", "  e: 3"]
    assert undocumented_values(lines) == ["4: c: 2"]


def test_values_schema_accepts_every_scenario_and_refuses_a_wrong_type():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((CHART / "values.schema.json").read_text())
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    for values in scenarios():
        merged = _merge(defaults, yaml.safe_load(values.read_text()))
        jsonschema.validate(merged, schema)
    wrong = _merge(defaults, {"worker": {"replicas": "three"}})
    with pytest.raises(jsonschema.ValidationError, match="'three' is not of type 'integer'"):
        jsonschema.validate(wrong, schema)
    done = subprocess.run(
        [tool("helm"), "template", "gm", str(CHART), "--kube-version", KUBERNETES_VERSION, "-f",
         str(CHART / "ci" / "minimal-values.yaml"), "--set", "kafka.securityProtocol=TLS"],
        capture_output=True, text=True,
    )
    assert done.returncode != 0 and "securityProtocol" in done.stderr


def _containers(doc: dict) -> list[dict]:
    spec = doc.get("spec", {})
    if doc["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    pod = spec.get("template", {}).get("spec", {})
    return pod.get("containers", [])


def _merge(base: dict, override: dict) -> dict:
    out = dict(base)
    for key, value in (override or {}).items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def test_the_chart_readme_lists_every_value():
    import importlib.util

    spec = importlib.util.spec_from_file_location("chart_values", CHART.parents[1] / "scripts" / "chart_values.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    table = module.values_table((CHART / "values.yaml").read_text())
    assert table in (CHART / "README.md").read_text(), "run `python scripts/chart_values.py --write`"
    assert "| `strimzi.topics.items` |" in table and "| `worker.keda.lagThreshold` | `1000` |" in table
