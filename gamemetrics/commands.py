"""What every ``gamemetrics`` command shares (each stage owns its commands; ``operations.cli`` mounts them).

The conventions, which ``tests/operations/test_cli_conventions.py`` checks on every command:

- results on stdout, notes and progress on stderr (``say()``); ``--quiet``/``-q`` on every command
  silences the notes (``apply_conventions`` adds it when mounting; a command may declare its own
  ``quiet: Quiet``), and progress bars are drawn only when stderr is a terminal (``progress_enabled()``);
- exit status 0 = it worked, 1 = it failed (``fail()``: ``error: ...`` on stderr), 2 = usage
  (an unknown option, a bad value: ``typer.BadParameter``);
- a command that lists or shows things takes ``output: OutputOption = None`` and prints with
  ``emit(rows, output)``: a table on a terminal, JSON lines when piped or with ``--output json``;
- the same option names for the same things: ``--game`` (``GameOption``), ``--player``
  (``PlayerOption``), durations as ``90s``/``15m``/``24h``/``7d`` (``duration_option()``, never an
  option named after its unit such as ``--grace-hours`` or ``--ttl-s``);
- ``gamemetrics --version``.

Also ``command_settings()`` (the settings of this process, read once, with logging configured) and
``serve_asgi()`` (one uvicorn block for every HTTP service: factory apps, N worker processes, their
metrics summed across the processes: gamemetrics/exposition.py).
"""

from __future__ import annotations

import functools
import inspect
import json
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from gamemetrics.errors import GameMetricsError
from gamemetrics.settings import Settings, load_settings


def command_settings() -> Settings:
    """Read the settings from the environment (once per command or service process) and configure structured logs."""
    from gamemetrics.logs import configure_logging

    from gamemetrics.keys import InsecureKey, require_strong
    from gamemetrics.settings import core_keys

    settings = load_settings()
    configure_logging(settings)
    try:
        require_strong(settings.env, core_keys(settings))
    except InsecureKey as exc:  # outside the local stack: no service starts on a public key
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise SystemExit(2) from exc
    return settings


# --quiet of the running command, set by the wrapper ``apply_conventions`` puts around each command
# for the duration of the call (a context variable, so one command's flag never leaks into the next).
_QUIET: ContextVar[bool] = ContextVar("gamemetrics_quiet", default=False)

QUIET_HELP = "No notes or progress on stderr: only the result (stdout) and errors."
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help=QUIET_HELP)]


def is_quiet() -> bool:
    return _QUIET.get()


def say(message: str) -> None:
    """Progress and notes go to stderr, so stdout stays machine-readable; nothing with --quiet."""
    if not _QUIET.get():
        typer.echo(message, err=True)


def progress_enabled() -> bool:
    """Draw a progress bar only for a person watching: stderr is a terminal and --quiet was not given."""
    return not _QUIET.get() and sys.stderr.isatty()


def fail(exc: GameMetricsError, code: int = 1) -> NoReturn:
    """Print a project error in red and leave with ``code`` (1: it failed; 2 only for a usage error)."""
    typer.secho(f"error: {exc}", fg="red", err=True)
    raise typer.Exit(code) from exc


# -- the same options for the same things -------------------------------------------------------------

GameOption = Annotated[str, typer.Option("--game", help="The game id.")]
PlayerOption = Annotated[str, typer.Option("--player", help="The player id, as the game sends it.")]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
DURATION_METAVAR = "DURATION"


def parse_duration(text: str | timedelta, bare_unit: str = "s") -> timedelta:
    """``90s``, ``15m``, ``24h``, ``7d``, ``2w``; a bare number counts in ``bare_unit`` (what the option
    used to take, so old scripts keep working)."""
    if isinstance(text, timedelta):
        return text
    match = _DURATION.match(str(text))
    if not match:
        raise typer.BadParameter(f"{text!r} is not a duration: write 90s, 15m, 24h or 7d")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2) or bare_unit])


def duration_option(*names: str, help: str, bare_unit: str = "s") -> Any:  # noqa: A002 - typer's own name
    """A duration option (``Annotated[timedelta, duration_option("--ttl", help=...)]``)."""
    return typer.Option(*names, help=f"{help} A duration: 90s, 15m, 24h, 7d.", metavar=DURATION_METAVAR,
                        parser=functools.partial(parse_duration, bare_unit=bare_unit))


def duration_text(value: timedelta) -> str:
    """The shortest exact spelling: 24h, 90m, 7d, 45s."""
    seconds = value.total_seconds()
    for unit in ("w", "d", "h", "m"):
        if seconds and seconds % _UNITS[unit] == 0:
            return f"{int(seconds // _UNITS[unit])}{unit}"
    return f"{seconds:g}s"


# -- list and show commands ---------------------------------------------------------------------------


class Output(str, Enum):
    table = "table"
    json = "json"


OutputOption = Annotated[
    Output | None,
    typer.Option("--output", help="table (the default on a terminal) or json (JSON lines: the default when piped)."),
]


def _json_default(value: object) -> object:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, (Path, Enum)):
        return str(value.value if isinstance(value, Enum) else value)
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value) if isinstance(value, (set, frozenset)) else list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, (list, tuple, set, frozenset)):
        return ",".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, default=_json_default, separators=(",", ":"))
    return str(value)


def resolved_output(output: Output | None) -> Output:
    if output is not None:
        return output
    return Output.table if sys.stdout.isatty() else Output.json


def emit(rows: Iterable[Mapping[str, object]], output: Output | None, columns: Sequence[str] | None = None) -> int:
    """Print ``rows``: JSON lines (every key) or an aligned table (``columns``, default every key of
    the first row). Returns how many rows were printed."""
    rows = list(rows)
    if resolved_output(output) is Output.json:
        for row in rows:
            typer.echo(json.dumps(row, default=_json_default, ensure_ascii=False))
        return len(rows)
    if not rows:
        say("(none)")
        return 0
    names = list(columns or rows[0].keys())
    cells = [[_cell(row.get(name)) for name in names] for row in rows]
    widths = [max(len(name), *(len(line[i]) for line in cells)) for i, name in enumerate(names)]
    typer.echo("  ".join(name.upper().ljust(w) for name, w in zip(names, widths)).rstrip())
    for line in cells:
        typer.echo("  ".join(text.ljust(w) for text, w in zip(line, widths)).rstrip())
    return len(rows)


# -- applied to every command when it is mounted ------------------------------------------------------

_CONVENTIONAL = "__gamemetrics_conventions__"


def with_quiet(func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` with a ``--quiet`` option (unless it declares its own ``quiet``) that silences ``say()``
    while it runs."""
    if getattr(func, _CONVENTIONAL, False):
        return func
    signature = inspect.signature(func, eval_str=True)
    own = "quiet" in signature.parameters

    @functools.wraps(func)
    def command(*args: Any, **kwargs: Any) -> Any:
        quiet = kwargs.get("quiet", False) if own else kwargs.pop("quiet", False)
        token = _QUIET.set(bool(quiet))
        try:
            return func(*args, **kwargs)
        finally:
            _QUIET.reset(token)

    if not own:
        quiet_param = inspect.Parameter("quiet", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=Quiet)
        signature = signature.replace(parameters=[*signature.parameters.values(), quiet_param])
    command.__signature__ = signature  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in signature.parameters.values()}
    setattr(command, _CONVENTIONAL, True)
    return command


def apply_conventions(app: typer.Typer) -> typer.Typer:
    """Give every command of ``app`` and of the apps mounted in it ``--quiet`` (called once, by
    ``operations.cli`` after mounting everything)."""
    for info in app.registered_commands:
        info.callback = with_quiet(info.callback)
    for group in app.registered_groups:
        apply_conventions(group.typer_instance)
    return app


def version_text() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"gamemetrics {version('gamemetrics')}"
    except PackageNotFoundError:
        return "gamemetrics (not installed: run from a source checkout)"


def serve_asgi(factory: str, host: str, port: int, workers: int, server: str = "uvicorn") -> None:
    """Run the ASGI app that ``factory`` ("module:function") builds, in ``workers`` processes
    (with more than one, prometheus_client's multiprocess directory is made before they start),
    served by uvicorn or granian (a Rust HTTP server; its worker processes are spawned, not forked,
    so each imports prometheus_client with the directory set)."""
    from gamemetrics.exposition import multiprocess_dir

    if server not in ("uvicorn", "granian"):
        raise typer.BadParameter(f"--server {server!r}: uvicorn or granian")
    command_settings()
    with multiprocess_dir(workers):
        if server == "granian":
            import multiprocessing

            try:
                from granian.constants import Interfaces
                from granian.log import LogLevels
                from granian.server import Server
            except ImportError as exc:
                raise typer.BadParameter("--server granian needs granian: pip install 'gamemetrics[granian]'") from exc

            multiprocessing.set_start_method("spawn", force=True)
            Server(
                factory, address=host, port=port, interface=Interfaces.ASGI, workers=workers, factory=True,
                log_level=LogLevels.warning, log_access=False, websockets=False,
            ).serve()
            return
        import uvicorn

        uvicorn.run(
            factory, factory=True, host=host, port=port, workers=workers, log_level="warning",
            access_log=False, proxy_headers=True,
        )
