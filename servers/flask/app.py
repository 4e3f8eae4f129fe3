"""Flask on its development server with threads: what `app.run(threaded=True)`
starts, werkzeug's ThreadedWSGIServer, made here with werkzeug's own
`make_server` so that its banner stays off stdout. One thread per
connection, and every response closes its connection (werkzeug's choice);
there is no thread count, so `--workers` is ignored."""

import contextlib
import io
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python-contract"))

import fb_contract  # noqa: E402
from werkzeug import serving  # noqa: E402

from flask import Flask, Response  # noqa: E402

NAME = "flask"
args = fb_contract.parse_args(NAME)
app = Flask(__name__)


@app.get("/hello/<name>")
def hello(name):
    return Response(fb_contract.hello_body(name), content_type=fb_contract.HELLO_CONTENT_TYPE)


@app.get("/json")
def json_message():
    # Flask's jsonify ends its body with a newline; the contract's body has none.
    return Response(fb_contract.JSON_BODY, content_type=fb_contract.JSON_CONTENT_TYPE)


class QuietHandler(serving.WSGIRequestHandler):
    def log_request(self, *_args, **_kwargs):
        pass


if args.backlog is not None:
    serving.ThreadedWSGIServer.request_queue_size = args.backlog  # 128 as shipped

try:
    # werkzeug prints why a bind failed, over two lines, then exits 1.
    with contextlib.redirect_stderr(io.StringIO()) as said:
        server = serving.make_server(
            "127.0.0.1", args.port, app, threaded=True, request_handler=QuietHandler
        )
except SystemExit:
    why = said.getvalue().strip().splitlines()[:1] or ["bind failed"]
    fb_contract.cannot_serve(NAME, args.port, why[0])
if args.nodelay:
    fb_contract.set_nodelay(server.socket)


def stop_between_requests():
    """Called by the serving loop after each accept and every 0.5 s idle.
    Requests in hand run on threads of their own (werkzeug's daemon
    threads), which end with the process."""
    if fb_contract.stop_requested():
        raise fb_contract.Stop()


server.service_actions = stop_between_requests
fb_contract.on_stop_signal()
fb_contract.ready(server.server_port)
try:
    server.serve_forever()
except fb_contract.Stop:
    pass
server.server_close()
