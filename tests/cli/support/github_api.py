"""A stub of GitHub's REST API on 127.0.0.1 for pkscan's tests. /orgs/acme/repos lists
seven repositories over three pages (Link headers), one a fork and one archived; the
first request for page 2 is refused with a 403 rate limit and Retry-After: 1. Every
repository's clone URL is on the git server whose base URL is argv[2]. /orgs/limited/repos
is always rate limited until an hour from now. Prints the port on the first line of
stdout; logs "PATH auth=<Authorization header or ->" per request to argv[1]. Stops when
stdin closes. Standard library only."""

import http.server
import json
import sys
import threading
import time

LOG, GIT_BASE = sys.argv[1], sys.argv[2]
LOCK = threading.Lock()
STATE = {"limited_once": False}
NAMES = ["shop", "app", "site", "forked", "old", "api", "web"]


def repo(name):
    return {"full_name": f"acme/{name}", "clone_url": f"{GIT_BASE}/public/{name}.git",
            "fork": name == "forked", "archived": name == "old"}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def reply(self, status, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        with LOCK, open(LOG, "a") as log:
            log.write(f"{self.path} auth={self.headers.get('Authorization', '-')}\n")
        path, _, query = self.path.partition("?")
        params = dict(p.partition("=")[::2] for p in query.split("&") if p)
        if path == "/orgs/limited/repos":
            reset = str(int(time.time()) + 3600)
            return self.reply(403, {"message": "API rate limit exceeded"},
                              [("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset", reset)])
        if path != "/orgs/acme/repos":
            return self.reply(404, {"message": "Not Found"})
        page = int(params.get("page", "1"))
        if page == 2 and not STATE["limited_once"]:
            STATE["limited_once"] = True
            return self.reply(403, {"message": "rate limited"},
                              [("Retry-After", "1"), ("X-RateLimit-Remaining", "0")])
        base = f"http://127.0.0.1:{self.server.server_address[1]}/orgs/acme/repos?per_page=100&type=all"
        links = []
        if page < 3:
            links.append(f'<{base}&page={page + 1}>; rel="next"')
        links.append(f'<{base}&page=3>; rel="last"')
        items = [repo(n) for n in NAMES[(page - 1) * 3: page * 3]]
        self.reply(200, items, [("Link", ", ".join(links))])


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
sys.stdin.read()
server.shutdown()
