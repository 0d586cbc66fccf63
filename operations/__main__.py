"""``python -m operations`` is the ``gamemetrics`` command."""

from operations.cli import app

app(prog_name="gamemetrics")
