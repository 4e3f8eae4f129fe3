"""CherryPy on its own server (cheroot, started by CherryPy's engine, as
`cherrypy.quickstart` does): a pool of `--workers` threads (10 as shipped)
and keep-alive. CherryPy sets TCP_NODELAY itself (`server.nodelay`), so
`--nodelay` changes nothing."""

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python-contract"))

import fb_contract  # noqa: E402

import cherrypy  # noqa: E402

NAME = "cherrypy"


class Root:
    """CherryPy maps path segments and query parameters onto a handler's
    arguments, and any method onto it; the contract's routes are one GET
    each, with exactly one name."""

    @cherrypy.expose
    def hello(self, *path, **query):
        if len(path) != 1 or query or cherrypy.request.method != "GET":
            raise cherrypy.NotFound()
        cherrypy.response.headers["Content-Type"] = fb_contract.HELLO_CONTENT_TYPE
        return fb_contract.hello_body(path[0])

    @cherrypy.expose
    def json(self, *path, **query):
        if path or query or cherrypy.request.method != "GET":
            raise cherrypy.NotFound()
        cherrypy.response.headers["Content-Type"] = fb_contract.JSON_CONTENT_TYPE
        return fb_contract.JSON_BODY


class StartError:
    """Says, in one line, why the engine failed to start: CherryPy logs the
    traceback (to no screen here) and exits."""

    def __init__(self, port):
        self.port = port
        self.said = False

    def __call__(self, message, level):
        starting = cherrypy.engine.state == cherrypy.engine.states.STARTING
        if level >= 40 and starting and not self.said:
            self.said = True
            lines = [line for line in message.splitlines() if line.strip()]
            why = lines[-1] if lines else message
            fb_contract.cannot_serve(NAME, self.port, why, exit_code=None)


def main(args):
    config = {
        "server.socket_host": "127.0.0.1",
        "server.socket_port": args.port,
        # A development aid, on by default: a thread that checks every
        # module once a second and restarts the process when one changes.
        "engine.autoreload.on": False,
        "checker.on": False,
        # The bodies are bytes already; CherryPy's encode tool would also
        # rewrite the content type to `text/plain;charset=utf-8`.
        "tools.encode.on": False,
        # No banner, no request log.
        "log.screen": False,
        "log.access_file": "",
        "log.error_file": "",
    }
    if args.workers is not None:
        config["server.thread_pool"] = args.workers  # 10 as shipped
    if args.backlog is not None:
        config["server.socket_queue_size"] = args.backlog  # 5 as shipped
    # The main thread only waits; the engine's threads inherit the mask.
    fb_contract.block_stop_signals()
    cherrypy.config.update(config)
    cherrypy.tree.mount(Root(), "/")
    cherrypy.engine.subscribe("log", StartError(args.port))
    # A failed start (a port in use) ends the process with CherryPy's own
    # exit code, 70, after StartError has said why.
    cherrypy.engine.start()
    fb_contract.ready(cherrypy.server.bound_addr[1])
    fb_contract.wait_for_stop_signal()
    cherrypy.engine.exit()


main(fb_contract.parse_args(NAME))
