"""Print the values table of helm/gamemetrics/README.md from values.yaml's `# --` comments.

    python scripts/chart_values.py            # print the table
    python scripts/chart_values.py --write    # replace the table in the chart README

The comments in values.yaml are the one source; tests/deploy/test_chart.py checks the README's
table equals what this prints.
"""

from __future__ import annotations

import sys
from pathlib import Path

CHART = Path(__file__).resolve().parents[1] / "helm" / "gamemetrics"
BEGIN, END = "<!-- values:begin -->", "<!-- values:end -->"


def values_table(values_yaml: str) -> str:
    rows: list[tuple[str, str, str]] = []
    stack: list[tuple[int, str]] = []
    comment: list[str] = []
    for line in values_yaml.splitlines():
        stripped = line.strip()
        if stripped.startswith("# --"):
            comment = [stripped[4:].strip()]
            continue
        if stripped.startswith("#"):
            if comment:
                comment.append(stripped[1:].strip())
            continue
        if not stripped or stripped.startswith("- ") or ":" not in stripped:
            continue
        indent = len(line) - len(line.lstrip())
        while stack and stack[-1][0] >= indent:
            stack.pop()
        key, value = (part.strip() for part in stripped.split(":", 1))
        if comment:
            rows.append((".".join([k for _, k in stack] + [key]), value, " ".join(comment)))
        if not value:
            stack.append((indent, key))
        comment = []
    out = ["| value | default | what it does |", "|---|---|---|"]
    for path, value, text in rows:
        shown = f"`{value.replace('|', chr(92) + '|')}`" if value else ""
        out.append(f"| `{path}` | {shown} | {text} |")
    return "\n".join(out) + "\n"


def with_table(readme: str, table: str) -> str:
    head, _, rest = readme.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{table}{END}{tail}"


def main() -> int:
    table = values_table((CHART / "values.yaml").read_text())
    if "--write" in sys.argv:
        readme = CHART / "README.md"
        readme.write_text(with_table(readme.read_text(), table))
    else:
        sys.stdout.write(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
