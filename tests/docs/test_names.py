"""Nothing stale: every module, file, command, option and setting that the README, CONTRIBUTING.md or a
docs page names exists in the code (and every setting is in the configuration reference:
test_configuration_reference.py)."""

from __future__ import annotations

import importlib
import re
import subprocess
from pathlib import Path

import pytest
import typer.main

from operations import settings_doc
from operations.cli import app

REPO = Path(__file__).resolve().parents[2]
PAGES = sorted([REPO / "README.md", REPO / "CONTRIBUTING.md", REPO / "SECURITY.md", *(REPO / "docs").rglob("*.md")])
TRACKED = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
TOP_LEVEL = {p.split("/")[0] for p in TRACKED if "/" in p} - {"docs"}
BASENAMES = {Path(p).name for p in TRACKED}
PACKAGES = {"gamemetrics", "ingest", "streams", "processors", "store", "schemas", "graphql_api", "recommender",
            "retention", "operations", "bench"}

CODE_SPAN = re.compile(r"`([^`]+)`")  # a span may wrap onto the next line
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
VARIABLE = re.compile(r"\bGAMEMETRICS_[A-Z0-9_]*[A-Z0-9](_\*)?")
ABBREVIATED = re.compile(r"\.\.\._([A-Z0-9_]*[A-Z0-9])\b")
# `gamemetrics` where a command starts: at the start of a line or span, after a shell separator, or as
# a path's last part (.venv/bin/gamemetrics)
INVOCATION = re.compile(r"(?:^|[;&|(]\s*|\$\s+|/bin/)gamemetrics((?:[ \t]+[^\s;&|#>)`]+)*)")


def page_id(path: Path) -> str:
    return str(path.relative_to(REPO))


def code_texts(text: str) -> list[str]:
    """The code of a page: fenced blocks (line by line) and inline spans."""
    texts = []
    for block in FENCE.findall(text):
        texts += block.splitlines()
    texts += [" ".join(span.split()) for span in CODE_SPAN.findall(FENCE.sub("", text))]
    return texts


def known_variables() -> set[str]:
    """The settings' variables, and the few variables scripts and tests read (outside the settings)."""
    known = set(settings_doc.every_variable())
    for path in TRACKED:
        if (path.startswith(("scripts/", "tests/", ".github/", ".ci/", "deploy/", "helm/")) and not path.endswith(".png")
                and not path.startswith("tests/docs/")):
            try:
                known |= {m.group(0) for m in VARIABLE.finditer((REPO / path).read_text())}
            except (UnicodeDecodeError, FileNotFoundError):
                continue
    return known


KNOWN = known_variables()


def stale_variables(text: str) -> list[str]:
    problems = []
    last_full: str | None = None
    position = 0
    for match in sorted([*VARIABLE.finditer(text), *ABBREVIATED.finditer(text)], key=lambda m: m.start()):
        if match.re is VARIABLE:
            name, wildcard = match.group(0).removesuffix("_*"), match.group(0).endswith("_*")
            if wildcard:
                ok = any(v.startswith(name + "_") for v in KNOWN)
            else:
                ok = name in KNOWN
                last_full = name
            if not ok:
                problems.append(f"setting {match.group(0)} does not exist")
        elif last_full is not None and text.count("\n\n", position, match.start()) == 0:
            # `..._BURST` after `GAMEMETRICS_INGEST_RATE_LIMIT_EVENTS_PER_S`: one of its prefixes + _BURST
            suffix = match.group(1)
            parts = last_full.split("_")
            if not any("_".join(parts[:i] + [suffix]) in KNOWN for i in range(1, len(parts))):
                problems.append(f"setting ..._{suffix} (after {last_full}) does not exist")
        position = match.end()
    return problems


def command_tree():
    return typer.main.get_command(app)


def stale_invocations(texts: list[str]) -> list[str]:
    root = command_tree()
    problems = []
    for line in texts:
        for match in INVOCATION.finditer(line):
            words = match.group(1).split()
            if not words or not re.fullmatch(r"[a-z-]+(?:[|/][a-z-]+)*|--?[a-z-]+(?:=\S*)?|\[.*", words[0]):
                continue  # `gamemetrics` as a name (a schema, a namespace, a path), not a command
            problems += check_invocation(root, words, line)
    return problems


def check_invocation(root, words: list[str], line: str) -> list[str]:
    command, path = root, []
    for index, word in enumerate(words):
        bare = word.strip("[]")
        if hasattr(command, "commands") and not bare.startswith("-"):
            alternatives = re.split(r"[|/]", bare)
            unknown = [a for a in alternatives if a not in command.commands]
            if unknown:
                return [f"`gamemetrics {' '.join(path + [bare])}`: no command {' '.join(path + unknown[:1])!r} (in: {line.strip()})"]
            if len(alternatives) > 1:
                return []  # `stack install|up|status|down`: each exists
            command, path = command.commands[bare], path + [bare]
            continue
        return check_options(command, path, words[index:], line)
    return []


def check_options(command, path: list[str], rest: list[str], line: str) -> list[str]:
    if any(word.startswith("--help") for word in rest):
        return []
    names = {"--help"} | {n for p in command.params for n in (*getattr(p, "opts", []), *getattr(p, "secondary_opts", []))}
    if getattr(command, "context_settings", {}).get("ignore_unknown_options"):
        return []  # bench commands pass their options through
    problems = []
    for word in rest:
        option = word.strip("[]").split("=")[0]
        if option.startswith("--") and re.fullmatch(r"--[a-z][a-z0-9-]*", option) and option not in names:
            problems.append(f"`gamemetrics {' '.join(path)}` has no option {option} (in: {line.strip()})")
    return problems


PATH_LIKE = re.compile(r"^\.?[A-Za-z0-9_.*-]+(?:/[A-Za-z0-9_.*=-]+)*/?$")


def stale_paths(spans: list[str]) -> list[str]:
    problems = []
    for span in spans:
        span = span.strip()
        if not PATH_LIKE.match(span) or span.startswith(("./", "../")):
            continue
        first = span.split("/")[0]
        if "/" in span and first in TOP_LEVEL | {".github", ".ci"}:
            if not any(True for _ in REPO.glob(span.rstrip("/"))):
                problems.append(f"file {span} does not exist")
        elif "/" not in span and re.fullmatch(r"[a-z0-9_]+\.py", span) and span not in BASENAMES:
            problems.append(f"module {span} does not exist")
    return problems


def _is_module(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


DOTTED = re.compile(r"^([a-z_]+(?:\.[A-Za-z_][A-Za-z0-9_]*)+)(?:\(.*\))?(?:\s*->.*)?$")


def stale_dotted(spans: list[str]) -> list[str]:
    problems = []
    for span in spans:
        match = DOTTED.match(span.strip())
        if not match or match.group(1).split(".")[0] not in PACKAGES or span.strip().endswith(".py"):
            continue
        parts = match.group(1).split(".")
        if not _is_module(".".join(parts[:2])) and "(" not in span:
            continue  # `gamemetrics.game_id` (a span attribute), `retention.ms` (a Kafka config): not code
        for cut in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            try:
                for attr in parts[cut:]:
                    obj = getattr(obj, attr)
            except AttributeError:
                problems.append(f"{match.group(1)} does not exist")
            break
        else:
            problems.append(f"module {match.group(1)} does not exist")
    return problems


PACKAGE_ROW = re.compile(r"^\| `([a-z_]+(?:/[a-z_]+)*)/` \|(.*)$", re.M)


def stale_package_rows(text: str) -> list[str]:
    """In a table row about one package (`| `ingest/` | ... `auth.py` ... |`), each file it names is in it."""
    problems = []
    for package, row in PACKAGE_ROW.findall(text):
        for span in CODE_SPAN.findall(row):
            name = span.strip()
            if re.fullmatch(r"[a-z0-9_]+\.py", name) and not any((REPO / package).rglob(name)):
                problems.append(f"{package}/ has no {name}")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_the_page_names_only_what_exists(page: Path) -> None:
    text = page.read_text()
    texts = code_texts(text)
    spans = CODE_SPAN.findall(FENCE.sub("", text))
    problems = (stale_variables(text) + stale_invocations(texts) + stale_paths(spans) + stale_dotted(spans)
                + stale_package_rows(text))
    assert not problems, f"{page_id(page)} names what does not exist:\n  " + "\n  ".join(problems)


def test_the_checks_catch_stale_names() -> None:
    assert stale_variables("set `GAMEMETRICS_INGEST_MAX_BODY_BYTES`, `..._MAX_EVENTS`") == []
    assert stale_variables("`GAMEMETRICS_NO_SUCH_THING`") == ["setting GAMEMETRICS_NO_SUCH_THING does not exist"]
    assert stale_variables("`GAMEMETRICS_INGEST_MAX_EVENTS`, `..._NO_SUCH`") != []
    assert stale_invocations(["gamemetrics games list --output json"]) == []
    assert stale_invocations(["gamemetrics games delete X"]) != []
    assert stale_invocations(["gamemetrics games rotate-key G --grace-hours 4"]) != []
    assert stale_invocations(["kubectl -n gamemetrics create secret generic gamemetrics"]) == []
    assert stale_paths(["ingest/ratelimit.py", "body.py"]) == []
    assert stale_paths(["ingest/no_such.py"]) == ["file ingest/no_such.py does not exist"]
    assert stale_package_rows("| `ingest/` | `auth.py` -> `store.py` |") == ["ingest/ has no store.py"]
    assert stale_dotted(["streams.app.faust_credentials()", "schemas.wire.NATIVE"]) == []
    assert stale_dotted(["streams.app.no_such_function()"]) == ["streams.app.no_such_function does not exist"]
    assert stale_dotted(["streams.no_such_module.build()"]) != []
