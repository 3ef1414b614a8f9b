"""Built-in ``mcr.microsoft.com/azuredocs/aci-helloworld``: the "Welcome to Azure Container Instances!" page.

The real image is a small Node/Express app listening on port 80 that logs each request in the ``combined``
format. Here it listens on ``127.0.0.1:$PORT`` (the host port the emulator mapped to the group's port) and,
like the real app, logs the port it listens on inside the group (``listening on port 80``): the group port
whose ``ACI_PORT_<P>`` is ``$PORT``. Standalone (the standard library only): it runs from its working
directory.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGE = b"""<html>
<head>
  <title>Welcome to Azure Container Instances!</title>
</head>
<style>
h1 {
    color: darkblue;
    font-family:arial, sans-serif;
    font-weight: lighter;
}
</style>

<div align="center">
<h1>Welcome to Azure Container Instances!</h1>

<svg id="Layer_1" data-name="Layer 1" xmlns="http://www.w3.org/2000/svg" width="250" height="250"
     viewBox="0 0 50 50"><title>Azure Container Instances</title>
  <rect x="5" y="10" width="40" height="30" rx="3" fill="#0078d4"/>
  <rect x="11" y="16" width="8" height="18" fill="#fff"/>
  <rect x="21" y="16" width="8" height="18" fill="#fff"/>
  <rect x="31" y="16" width="8" height="18" fill="#fff"/>
</svg>
</div>
</html>
"""


class WelcomeHandler(BaseHTTPRequestHandler):
    server_version = "Express"
    sys_version = ""

    def do_GET(self) -> None:
        self._answer(with_body=True)

    def do_HEAD(self) -> None:
        self._answer(with_body=False)

    def _answer(self, *, with_body: bool) -> None:
        if self.path.split("?", 1)[0] not in ("/", "/index.html"):
            self._send(404, b"Cannot GET " + self.path.encode() + b"\n", "text/html; charset=utf-8", with_body)
            return
        self._send(200, PAGE, "text/html; charset=UTF-8", with_body)

    def _send(self, status: int, body: bytes, content_type: str, with_body: bool) -> None:
        self._length = len(body)  # before send_response, which logs the request
        self.send_response(status)
        self.send_header("X-Powered-By", "Express")
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # morgan's "combined" format, as the Node app prints it.
        when = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime())
        referer = self.headers.get("Referer", "-")
        agent = self.headers.get("User-Agent", "-")
        length = getattr(self, "_length", "-")
        print(f'::ffff:{self.client_address[0]} - - [{when}] "{self.requestline}" {code} {length} '
              f'"{referer}" "{agent}"', flush=True)

    def log_message(self, format: str, *args: object) -> None:
        pass  # errors and requests are logged by log_request only


def group_port(host_port: int, environ: dict[str, str]) -> int:
    """The port the group exposes for ``host_port`` (the app's own view, 80), else ``host_port``."""
    for name, value in sorted(environ.items()):
        if name.startswith("ACI_PORT_") and value == str(host_port) and name[9:].isdigit():
            return int(name[9:])
    return host_port


def main() -> int:
    port = int(os.environ.get("PORT", "8080"))
    server = ThreadingHTTPServer(("127.0.0.1", port), WelcomeHandler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"listening on port {group_port(port, dict(os.environ))}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
