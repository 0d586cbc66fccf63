"""The GitHub Actions workflow, checked by actionlint (pinned, scripts/tools.sh), and its promises."""

from __future__ import annotations

import yaml

from tests.deploy.tools import ROOT, run, tool

WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


def test_actionlint_finds_nothing():
    run(tool("actionlint"), "-no-color", str(WORKFLOW))


def test_the_pipeline_tests_builds_scans_signs_and_pushes():
    flow = yaml.safe_load(WORKFLOW.read_text())
    jobs = flow["jobs"]
    assert set(jobs["image"]["needs"]) == {"test", "chart", "wheels"}
    steps = " ".join(str(step) for step in jobs["image"]["steps"])
    for promise in ("docker/build-push-action", "syft scan", "grype sbom:", "cosign sign", "cosign attest"):
        assert promise in steps, promise
    assert any(step.get("run") == "bash .ci/run" for step in jobs["test"]["steps"])
    assert jobs["image"]["permissions"]["id-token"] == "write"
    assert (ROOT / ".ci" / "run").read_text().strip().endswith("bash scripts/test.sh -p no:cacheprovider")


def test_the_argocd_application_points_at_the_chart():
    app = yaml.safe_load((ROOT / "deploy" / "argocd" / "application.yaml").read_text())
    assert app["kind"] == "Application" and app["apiVersion"] == "argoproj.io/v1alpha1"
    source = app["spec"]["source"]
    assert (ROOT / source["path"] / "Chart.yaml").exists()
    for values in source["helm"]["valueFiles"]:
        assert (ROOT / source["path"] / values).exists(), values
    assert app["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
