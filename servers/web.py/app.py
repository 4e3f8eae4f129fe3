"""web.py on its own server: what `app.run()` starts, web.py's
`httpserver.WSGIServer` (cheroot) behind its static-file middleware, here
without the request-log middleware and the address line that `runsimple`
prints. A pool of `--workers` threads (10 as shipped), keep-alive; web.py
turns TCP_NODELAY on itself, so `--nodelay` changes nothing.

Debug mode is off. web.py turns it on whenever its built-in server runs
(and so it was in the seed): its reloader then checks every loaded module
on every request, which made a request about four times slower here. It is
a development aid, as CherryPy's autoreloader is, which is off too."""

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python-contract"))

import fb_contract  # noqa: E402

import web  # noqa: E402
import web.httpserver  # noqa: E402

NAME = "web.py"
# Before the application is made: it decides on its reloader then.
web.config.debug = False
URLS = ("/hello/([^/]+)", "Hello", "/json", "Json")


class Hello:
    def GET(self, name):
        web.header("Content-Type", fb_contract.HELLO_CONTENT_TYPE)
        return fb_contract.hello_body(name)


class Json:
    def GET(self):
        web.header("Content-Type", fb_contract.JSON_CONTENT_TYPE)
        return fb_contract.JSON_BODY


def main(args):
    app = web.application(URLS, {"Hello": Hello, "Json": Json})
    wsgi = web.httpserver.StaticMiddleware(app.wsgifunc())
    server = web.httpserver.WSGIServer(("127.0.0.1", args.port), wsgi)
    if args.workers is not None:
        server.requests.min = args.workers  # cheroot's pool: 10 as shipped
    if args.backlog is not None:
        server.request_queue_size = args.backlog  # 5 as shipped
    try:
        server.prepare()
    except OSError as err:
        fb_contract.cannot_serve(NAME, args.port, err)
    # As `runsimple` stops at Ctrl-C: the exception ends the accepting loop
    # on the main thread; `stop()` then lets the workers finish.
    fb_contract.on_stop_signal(fb_contract.raise_stop)
    try:
        fb_contract.ready(server.socket.getsockname()[1])
        server.serve()
    except fb_contract.Stop:
        server.stop()


main(fb_contract.parse_args(NAME))
