"""The server contract of servers/README.md, shared by the Python servers.

Standard library only, like servers/contract for the Rust ones: the command
line, the one-line errors, the ready line, the bodies, and a stop on
SIGTERM or SIGINT. Each server imports it by path; nothing is installed.
"""

import json
import signal
import socket
import sys
import threading

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


def fail(server, message, code=2):
    """One line `server-X: error: ...` on stderr, then exit non-zero."""
    sys.stderr.write(f"server-{server}: error: {message}\n")
    sys.stderr.flush()
    sys.exit(code)


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


def block_stop_signals():
    """Blocks SIGTERM and SIGINT in this thread and in every thread it
    starts from now on, so that only `on_stop`'s thread takes them. Call it
    before the server starts any thread; a signal that comes before
    `on_stop` waits for it."""
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)


def on_stop(stop):
    """Calls `stop()` once, at SIGTERM or SIGINT, on a thread that waits
    for them (`sigwait`). Not from a signal handler: a handler runs on the
    main thread between any two bytecodes, also while that thread holds a
    lock that starting a thread or stopping the server takes."""

    def wait():
        signal.sigwait(STOP_SIGNALS)
        stop()

    block_stop_signals()
    threading.Thread(target=wait, name="stop", daemon=True).start()
