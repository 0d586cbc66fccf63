"""Library modules read no environment after start-up (issue 27): settings are read once, by the
command or the per-process factory that starts a service, and passed in. A settings class built,
or the environment read, anywhere else is a setting that can change under a running process and
that no test or operator can pass explicitly."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gamemetrics", "ingest", "processors", "recommender", "graphql_api", "retention", "store", "streams",
            "schemas")
START_UP_MODULES = {"cli.py", "main.py", "__main__.py", "settings.py", "commands.py"}
START_UP_FUNCTIONS = {"build", "serving"}  # uvicorn factories and the API's lifespan: once per process
ENVIRONMENT_PROTOCOLS = {"gamemetrics/exposition.py"}  # prometheus_client's multiprocess directory is an env var


def _reads(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST, function: str | None) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            function = node.name
        if function not in START_UP_FUNCTIONS:
            if isinstance(node, ast.Call) and not node.args and not node.keywords:
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                owner = node.func.value.id if isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name) else ""
                if name.endswith("Settings") or (name == "load" and owner.endswith(("Settings", "Stages"))) \
                        or (name.startswith("load_") and name.endswith("settings")):
                    found.append((node.lineno, f"{owner + '.' if owner else ''}{name}()"))
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv") \
                    and isinstance(node.value, ast.Name) and node.value.id == "os":
                found.append((node.lineno, f"os.{node.attr}"))
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(tree, None)
    return found


def library_reads() -> list[str]:
    out = []
    for package in PACKAGES:
        for module in sorted((ROOT / package).rglob("*.py")):
            rel = str(module.relative_to(ROOT))
            if module.name in START_UP_MODULES or rel in ENVIRONMENT_PROTOCOLS:
                continue
            out += [f"{rel}:{line} {what}" for line, what in _reads(ast.parse(module.read_text(encoding="utf-8")))]
    return out


def test_the_scan_sees_a_settings_class_built_in_a_library_function():
    code = "def erase(settings, rec=None):\n    rec = rec or RecommenderSettings()\n    x = os.environ['A']\n"
    assert [what for _, what in _reads(ast.parse(code))] == ["RecommenderSettings()", "os.environ"]


def test_no_library_module_reads_settings_or_the_environment_after_start_up():
    assert library_reads() == []
