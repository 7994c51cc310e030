"""A git smart-HTTP server on 127.0.0.1 for pkscan's tests: `git http-backend` behind a
small CGI bridge. Paths: /public/NAME.git (open), /private/NAME.git (Basic auth with the
token in $GIT_TEST_TOKEN, off the command line), /broken/NAME.git (the pack is cut off midway).
Prints the port on the first line of stdout; logs "METHOD PATH auth=yes|no" per request
to argv[2]. Stops when stdin closes. Standard library only."""

import base64
import http.server
import os
import subprocess
import sys
import threading
import time

ROOT, LOG = sys.argv[1], sys.argv[2]
TOKEN = os.environ["GIT_TEST_TOKEN"]
LOCK = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def handle_any(self):
        auth = self.headers.get("Authorization", "")
        with LOCK, open(LOG, "a") as log:
            log.write(f"{self.command} {self.path} auth={'yes' if auth else 'no'}\n")
        area, _, rest = self.path.lstrip("/").partition("/")
        path, _, query = rest.partition("?")
        if area == "private":
            expected = [base64.b64encode(f"{u}:{TOKEN}".encode()).decode() for u in ("x-access-token", "bot")]
            if auth not in [f"Basic {e}" for e in expected]:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="test"')
                self.end_headers()
                return
            time.sleep(0.3)  # long enough for a test to sample the processes
        elif area not in ("public", "broken"):
            self.send_response(404)
            self.end_headers()
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        env = dict(os.environ, GIT_PROJECT_ROOT=ROOT, GIT_HTTP_EXPORT_ALL="1",
                   PATH_INFO="/" + path, QUERY_STRING=query, REQUEST_METHOD=self.command,
                   CONTENT_TYPE=self.headers.get("Content-Type", ""),
                   CONTENT_LENGTH=str(len(body)), REMOTE_ADDR="127.0.0.1")
        for name in ("Content-Encoding", "Git-Protocol"):
            if self.headers.get(name):
                env["HTTP_" + name.upper().replace("-", "_")] = self.headers[name]
        out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True).stdout
        head, _, payload = out.partition(b"\r\n\r\n")
        status = 200
        headers = []
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value.strip()))
        if area == "broken" and "upload-pack" in path and self.command == "POST":
            payload = payload[: len(payload) // 2]
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload) * 2))
            self.end_headers()
            self.wfile.write(payload)
            self.wfile.flush()
            self.connection.close()
            return
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = handle_any
    do_POST = handle_any


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
sys.stdin.read()
server.shutdown()
