"""bottle on its default server, `bottle.run(server="wsgiref")`: the standard
library's wsgiref.simple_server, one thread, HTTP/1.0 (a connection per
request). `--workers` has nothing to set there and is ignored."""

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python-contract"))

import fb_contract  # noqa: E402
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer  # noqa: E402

import bottle  # noqa: E402

NAME = "bottle"
args = fb_contract.parse_args(NAME)
app = bottle.Bottle()


@app.get("/hello/<name>")
def hello(name):
    bottle.response.content_type = fb_contract.HELLO_CONTENT_TYPE
    return fb_contract.hello_body(name)


@app.get("/json")
def json_message():
    bottle.response.content_type = fb_contract.JSON_CONTENT_TYPE
    return fb_contract.JSON_BODY


class QuietHandler(WSGIRequestHandler):
    """No request log, and no reverse DNS (as bottle's own handler)."""

    def address_string(self):
        return self.client_address[0]

    def log_message(self, *_args):
        pass


class ReadyServer(WSGIServer):
    """wsgiref's server; prints the ready line once it listens."""

    if args.backlog is not None:
        request_queue_size = args.backlog  # socketserver's listen(); 5 as shipped

    def server_activate(self):
        if args.nodelay:
            fb_contract.set_nodelay(self.socket)
        super().server_activate()
        fb_contract.on_stop_signal()
        fb_contract.ready(self.server_port)

    def service_actions(self):
        """Between requests (and every 0.5 s idle): the loop's own thread
        ends it, after the request in hand."""
        if fb_contract.stop_requested():
            self.server_close()
            raise fb_contract.Stop()


try:
    bottle.run(
        app,
        server="wsgiref",
        host="127.0.0.1",
        port=args.port,
        quiet=True,
        server_class=ReadyServer,
        handler_class=QuietHandler,
    )
except fb_contract.Stop:
    pass
except OSError as err:
    fb_contract.cannot_serve(NAME, args.port, err.strerror or err)
