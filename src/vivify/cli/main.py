"""``vivify`` entry point: parse, dispatch to a subcommand, map errors to exit codes.

Exit codes: 0 success; 2 user error (bad input or usage), one line on stderr; 1 unexpected
failure, a short message (the traceback with ``--debug``); 130 interrupted (Ctrl-C, SIGINT);
143 terminated (SIGTERM). An interrupted or terminated run stops its threads and leaves no
partial output behind.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from vivify import __version__
from vivify.cli import animate, demo, edit, export, inspect, template, verify, weights
from vivify.errors import DependencyError, UserError

SUBCOMMANDS = {
    "animate": animate,
    "edit": edit,
    "demo": demo,
    "template": template,
    "inspect": inspect,
    "weights": weights,
    "export": export,
    "verify": verify,
}

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 130, 143


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread as Ctrl-C is: the same clean-up runs for both."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


@contextmanager
def _signals() -> Iterator[None]:
    """SIGTERM raises :class:`Terminated` while the command runs (main thread only; a handler
    can't be set elsewhere). SIGINT keeps Python's KeyboardInterrupt."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _WarningFormatter(logging.Formatter):
    """Warnings as one ``vivify: warning: ...`` line each; other records as logged."""

    def format(self, record: logging.LogRecord) -> str:
        if record.levelno == logging.WARNING:
            return f"vivify: warning: {record.getMessage()}"
        return super().format(record)


class _UsageError(Exception):
    """argparse rejected the command line."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors become one line, not usage text and a SystemExit."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="vivify", description="Bring a still portrait to life.")
    parser.add_argument("--version", action="version", version=f"vivify {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, module in SUBCOMMANDS.items():
        module.add_parser(sub, name)
    return parser


def _configure_logging(debug: bool) -> None:
    """Debug logs with ``--debug``; else warnings only, one plain line each, on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    if debug:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    else:
        handler.setFormatter(_WarningFormatter("vivify: %(levelname)s: %(message)s"))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_vivify", False)]:
        root.removeHandler(old)
    handler._vivify = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (the console script exits with it)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    _configure_logging(debug)
    try:
        with _signals():
            args = build_parser().parse_args(argv)
            if args.command is None:
                build_parser().print_help()
                return EXIT_USAGE
            return int(args.run(args) or EXIT_OK)
    except _UsageError as exc:
        print(f"vivify: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except UserError as exc:
        if debug:
            traceback.print_exc()
        print(f"vivify: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except DependencyError as exc:  # a missing optional package: one line, no traceback
        if debug:
            traceback.print_exc()
        print(f"vivify: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except Terminated:
        print("vivify: terminated", file=sys.stderr)
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        print("vivify: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the last line of defence for the CLI
        if debug:
            traceback.print_exc()
        print(
            f"vivify: unexpected error: {type(exc).__name__}: {exc} (run with --debug for details)",
            file=sys.stderr,
        )
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
