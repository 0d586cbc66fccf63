"""Render a rule's template with a notification's payload. Pure.

Templates use ``string.Template`` placeholders, ``$name`` or ``${name}``, never ``str.format``:
the values come from game clients, and ``$`` substitution cannot reach attributes or indexes. A
placeholder with no value is left as written, so a typo shows in the message instead of failing it.

The first line of the rendered text is the title (email subject, push title); the lines after it
are the body. A one-line template is both. SMS sends the whole text.

    Your receipt for ${item_id}          <- title
    You paid ${amount} ${currency}.      <- body
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from string import Template


@dataclass(frozen=True)
class Rendered:
    title: str
    body: str
    text: str


def template_problem(template: str) -> str | None:
    """Why ``template`` cannot be used, or None. ``$$`` writes a literal dollar sign."""
    if not template.strip():
        return "is empty"
    if not Template(template).is_valid():
        return f"{template!r} has a malformed placeholder; write $name or ${{name}}, and $$ for a dollar sign"
    return None


def substitute(template: str, values: Mapping[str, str]) -> str:
    """``template`` with each known placeholder replaced."""
    return Template(template).safe_substitute(values)


def render(template: str, payload: Mapping[str, str]) -> Rendered:
    """Title, body and whole text of a notification."""
    text = substitute(template, payload).strip()
    title, _, rest = text.partition("\n")
    body = rest.strip() or title
    return Rendered(title=title.strip(), body=body, text=text)
