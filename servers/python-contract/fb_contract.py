"""The server contract of servers/README.md, shared by the Python servers.

Standard library only, like servers/contract for the Rust ones: the command
line, the one-line errors, the ready line, the bodies, and a stop on
SIGTERM or SIGINT. Each server imports it by path; nothing is installed.
"""

import json
import signal
import socket
import sys

HELLO_CONTENT_TYPE = "text/plain; charset=utf-8"
JSON_CONTENT_TYPE = "application/json"
# Compact separators: byte-identical to the Rust servers' serde output.
JSON_BODY = json.dumps({"message": "Hello, World!"}, separators=(",", ":")).encode()

USAGE = "--port N [--workers W] [--nodelay] [--backlog B]"
# The largest `--workers` and `--backlog`: what listen(2) takes.
MAX_COUNT = 2**31 - 1
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


class Args:
    """The parsed command line; `workers` and `backlog` are None when not given."""

    def __init__(self):
        self.port = None
        self.workers = None
        self.nodelay = False
        self.backlog = None


def hello_body(name):
    return f"Hello, {name}!".encode()


def error_line(server, message):
    """The one line `server-X: error: ...` on stderr."""
    sys.stderr.write(f"server-{server}: error: {message}\n")
    sys.stderr.flush()


def fail(server, message, code=2):
    """The error line, then exit non-zero."""
    error_line(server, message)
    sys.exit(code)


def cannot_serve(server, port, why, exit_code=1):
    """The error line of a server that cannot listen (a port in use), then
    exit; with `exit_code=None`, for a server that exits on its own, only
    the line."""
    message = f"cannot serve on 127.0.0.1:{port}: {why}"
    if exit_code is None:
        error_line(server, message)
    else:
        fail(server, message, exit_code)


def parse_args(server, argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = Args()
    it = iter(argv)
    for flag in it:
        if flag == "--nodelay":
            args.nodelay = True
            continue
        if flag not in ("--port", "--workers", "--backlog"):
            fail(server, f"unknown argument `{flag}`; usage: {USAGE}")
        value = next(it, None)
        if value is None:
            fail(server, f"`{flag}` needs a value")
        # ASCII only: `isdigit` alone takes `²`, which `int` refuses.
        if not (value.isascii() and value.isdigit()):
            fail(server, f"`{flag}` takes a number, not `{value}`")
        number = int(value)
        if flag == "--port":
            if number > 65535:
                fail(server, f"port {number} is above 65535")
            args.port = number
        elif number == 0:
            fail(server, f"`{flag}` must be at least 1")
        elif number > MAX_COUNT:
            fail(server, f"`{flag}` must be at most {MAX_COUNT}")
        elif flag == "--workers":
            args.workers = number
        else:
            args.backlog = number
    if args.port is None:
        fail(server, f"`--port` is required; usage: {USAGE}")
    return args


def set_nodelay(sock):
    """TCP_NODELAY on a listening socket: Linux copies it to accepted ones."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def ready(port):
    """The ready line: once, only once the socket accepts, flushed."""
    sys.stdout.write(f"listening on 127.0.0.1:{port}\n")
    sys.stdout.flush()


class Stop(BaseException):
    """Raised out of a serving loop once SIGTERM or SIGINT has come. A
    BaseException, as KeyboardInterrupt: the servers' loops log and go on
    past an Exception."""


_stop_requested = False


def stop_requested():
    return _stop_requested


def raise_stop():
    raise Stop()


def on_stop_signal(action=None):
    """At SIGTERM or SIGINT, notes it (see `stop_requested`) and runs
    `action`. Python runs a handler on the main thread between any two
    bytecodes, also while that thread holds a lock, so `action` must take
    none: raising `Stop` is fine, calling a server's `shutdown()` or
    starting a thread is not. No thread is started for it: a thread costs a
    Python server a malloc arena (64 MiB of VMS) of its own."""

    def handler(_signum, _frame):
        global _stop_requested
        _stop_requested = True
        if action is not None:
            action()

    for signum in STOP_SIGNALS:
        signal.signal(signum, handler)


def block_stop_signals():
    """Blocks SIGTERM and SIGINT in this thread and every thread it starts
    from now on, for a server whose main thread only waits: it takes them
    with `wait_for_stop_signal`. Call it before the server starts a
    thread."""
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)


def wait_for_stop_signal():
    signal.sigwait(STOP_SIGNALS)
