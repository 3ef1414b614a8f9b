"""Built-in ``mcr.microsoft.com/azuredocs/aci-tutorial-sidecar``: polls the app next to it.

The real sidecar runs ``watch -n 3 curl -I http://localhost`` and so logs the app's response headers every
few seconds. Containers of a group share "localhost"; here the app's port 80 is ``$ACI_PORT_80`` on
127.0.0.1 (see docs/contracts.md, Ports).
"""

from __future__ import annotations

import os
import signal
import sys
import time
import urllib.error
import urllib.request


def target_url() -> str:
    port = os.environ.get("ACI_PORT_80") or os.environ.get("PORT") or "80"
    return f"http://127.0.0.1:{port}"


def poll_once(url: str) -> list[str]:
    """The lines ``curl -I`` would print for ``url``: the status line and the headers, or the error."""
    request = urllib.request.Request(url, method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            lines = [f"HTTP/1.1 {response.status} {response.reason}"]
            lines += [f"{name}: {value}" for name, value in response.headers.items()]
            return lines
    except urllib.error.HTTPError as error:
        return [f"HTTP/1.1 {error.code} {error.reason}"]
    except (OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        return [f"curl: (7) Failed to connect to localhost port 80: {reason}"]


def main() -> int:
    interval = float(os.environ.get("SIDECAR_INTERVAL", "3"))
    url = target_url()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
        print(f"Every {interval:g}s: curl -I http://localhost{'':26}{stamp}", flush=True)
        print(flush=True)
        for line in poll_once(url):
            print(line, flush=True)
        time.sleep(interval)


if __name__ == "__main__":
    sys.exit(main())
