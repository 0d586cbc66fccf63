"""``python -m gamemetrics`` is the ``gamemetrics`` command."""

from gamemetrics.cli import app

app(prog_name="gamemetrics")
