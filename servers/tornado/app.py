"""tornado on its own HTTPServer and IOLoop (asyncio underneath): one
thread, keep-alive. As `app.listen(port)` does, with the listening socket
from tornado's `bind_sockets` so that `--backlog` reaches it. tornado turns
TCP_NODELAY on while it finishes each response. One thread, so `--workers`
is ignored (tornado's multi-process mode would fork several processes)."""

import asyncio
import os
import signal
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python-contract"))

import fb_contract  # noqa: E402

import tornado.httpserver  # noqa: E402
import tornado.netutil  # noqa: E402
import tornado.web  # noqa: E402

NAME = "tornado"
# In-flight requests get this long after SIGTERM, within the contract's 2 s.
DRAIN_S = 1.5


class Hello(tornado.web.RequestHandler):
    def get(self, name):
        self.set_header("Content-Type", fb_contract.HELLO_CONTENT_TYPE)
        self.write(fb_contract.hello_body(name))


class Json(tornado.web.RequestHandler):
    def get(self):
        # tornado's own JSON (`write(dict)`) puts a space after the colon.
        self.set_header("Content-Type", fb_contract.JSON_CONTENT_TYPE)
        self.write(fb_contract.JSON_BODY)


def no_log(_handler):
    """No request log (tornado logs 4xx as warnings by default)."""


async def main(args):
    app = tornado.web.Application(
        [(r"/hello/([^/]+)", Hello), (r"/json", Json)], log_function=no_log
    )
    # tornado's own backlog (128) unless `--backlog` is given.
    backlog = {} if args.backlog is None else {"backlog": args.backlog}
    try:
        sockets = tornado.netutil.bind_sockets(args.port, "127.0.0.1", **backlog)
    except OSError as err:
        fb_contract.cannot_serve(NAME, args.port, err.strerror or err)
    if args.nodelay:
        # Accepted sockets inherit it; tornado turns it off after each
        # response and on again while finishing the next one.
        for sock in sockets:
            fb_contract.set_nodelay(sock)
    server = tornado.httpserver.HTTPServer(app)
    server.add_sockets(sockets)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in fb_contract.STOP_SIGNALS:
        loop.add_signal_handler(signum, stop.set)
    fb_contract.ready(sockets[0].getsockname()[1])
    await stop.wait()
    server.stop()
    try:
        await asyncio.wait_for(server.close_all_connections(), DRAIN_S)
    except asyncio.TimeoutError:
        pass


asyncio.run(main(fb_contract.parse_args(NAME)))
