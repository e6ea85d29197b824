"""What scripts/cluster-drill.py and scripts/cluster-bench.py share: requests through the
rehearsal's gateway (its throwaway certificate trusted) and the provider emulator's stats."""

from http.client import HTTPException, HTTPSConnection
import json
import os
import ssl
import urllib.error
import urllib.parse
import urllib.request

GATEWAY = os.environ["GATEWAY"]
SCRATCH = os.environ["SCRATCH"]
TLS = ssl.create_default_context(cafile=os.environ["CA_FILE"])
TLS.check_hostname = False  # the throwaway certificate names localhost; we dial 127.0.0.1


def http(method, path, token=None, body=None, base=GATEWAY, timeout=30):
    """One request; answers (status, parsed JSON or None). Connection failures raise."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    context = TLS if base.startswith("https") else None
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as answer:
            raw = answer.read()
            status = answer.status
    except urllib.error.HTTPError as error:
        raw, status = error.read(), error.code
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, None


class Connection:
    """A kept-alive connection to the gateway, for one thread's many requests."""

    def __init__(self, base=GATEWAY):
        parts = urllib.parse.urlsplit(base)
        self.connection = HTTPSConnection(parts.hostname, parts.port, context=TLS, timeout=60)

    def request(self, method, path, token=None, body=None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            self.connection.request(method, path, body=data, headers=headers)
            answer = self.connection.getresponse()
        except (HTTPException, OSError):
            # The gateway closed an idle connection: once more on a new one.
            self.connection.close()
            self.connection.request(method, path, body=data, headers=headers)
            answer = self.connection.getresponse()
        raw = answer.read()
        return answer.status, json.loads(raw) if raw else None


def emulator_stats():
    """The emulator's count of requests, jobs by kind, and wire-format violations."""
    with urllib.request.urlopen(os.environ["EMULATOR_STATS"] + "/_emulator/stats", timeout=5) as answer:
        return json.load(answer)


def pid_of(name):
    """The current pid of a process of the topology (its restart loop keeps the file fresh)."""
    with open(f"{SCRATCH}/{name}.pid") as file:
        return int(file.read().strip())
