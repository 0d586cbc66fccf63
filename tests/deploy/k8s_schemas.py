"""Kubernetes JSON schemas for kubeconform, offline, from the kubernetes-validate package.

kubernetes-validate (PyPI) bundles the OpenAPI-derived schemas of every Kubernetes release, with
``$ref``s into one shared ``/api/_definitions.json`` that only its own resolver understands.
kubeconform wants one self-contained file per kind (the layout of yannh/kubernetes-json-schema's
``-standalone-strict`` folders): :func:`standalone_schemas` writes those, each carrying the shared
definitions under ``$defs`` with the references rewritten to point there.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

SHARED_REF = "/api/_definitions.json#/$defs/"


def bundled_dir(kubernetes_version: str) -> Path:
    """The strict schemas kubernetes-validate ships for ``kubernetes_version`` (e.g. "1.31.0")."""
    root = Path(str(resources.files("kubernetes_validate"))) / "kubernetes-json-schema"
    folder = root / f"v{kubernetes_version}-local-strict"
    if not folder.is_dir():
        versions = sorted(p.name for p in root.iterdir() if p.name.endswith("-local-strict"))
        raise FileNotFoundError(f"kubernetes-validate has no schemas for {kubernetes_version}; it has {versions}")
    return folder


def standalone_schemas(kubernetes_version: str, kinds: set[str], out: Path) -> Path:
    """Write self-contained ``<kind>-<group>-<version>.json`` schemas for ``kinds`` under
    ``out/v<version>-standalone-strict``; returns that folder. ``kinds`` are the file stems
    kubeconform will ask for (``deployment-apps-v1``, ``service-v1``, ...); unknown ones are skipped
    so kubeconform reports them as missing."""
    source = bundled_dir(kubernetes_version)
    target = out / f"v{kubernetes_version}-standalone-strict"
    target.mkdir(parents=True, exist_ok=True)
    definitions = json.loads((source / "_definitions.json").read_text())
    shared = json.dumps(definitions.get("$defs", definitions.get("definitions", {}))).replace(SHARED_REF, "#/$defs/")
    for kind in sorted(kinds):
        path = source / f"{kind}.json"
        if not path.exists():
            continue
        text = path.read_text().replace(SHARED_REF, "#/$defs/")
        schema = json.loads(text)
        schema["$defs"] = json.loads(shared)
        (target / f"{kind}.json").write_text(json.dumps(schema))
    return target


def schema_stem(api_version: str, kind: str) -> str:
    """kubeconform's file stem of a built-in kind: ``apps/v1`` + ``Deployment`` -> ``deployment-apps-v1``."""
    group, _, version = api_version.rpartition("/")
    group = group.split(".")[0]
    return f"{kind.lower()}-{group}-{version}" if group else f"{kind.lower()}-{version}"
