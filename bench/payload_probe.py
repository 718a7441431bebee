#!/usr/bin/env python3
"""Detection by category and request position, against a running Palisade.

Sends every line of each PayloadsAllTheThings category (../shared/data) once per request
position and prints the share answered 403. Positions: query (the payload as sent by an
Intruder-style tool: only bytes invalid in a request line are escaped), path (a middle path
segment, percent-encoded), json (a JSON string value), header (a custom header value) and
cookie (a cookie value, percent-encoded) by default; also form (a urlencoded field),
multipart (a form-data field), xml (an element's text), base64 (a query argument holding
the payload in base64), jsonu (a JSON value written as \\u escapes), and rawjson / rawxml /
rawtext (the payload as the whole body under that declared type).

The classifier is trained on these lists, so rates with it on overstate what it does on
unseen payloads; the signatures' own rates (run Palisade with --no-ml) are the honest
measure. Some categories are word lists or paths rather than attacks (Insecure Management
Interface, Web Cache Deception, Upload Insecure Files) and are left out.

    palisade serve --listen 127.0.0.1:18102 --no-ml &
    bench/payload_probe.py 18102 query path json
"""
import base64
import collections
import http.client
import json
import os
import sys
import urllib.parse
import xml.sax.saxutils

DATA = os.environ.get("DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
SKIP = {"Insecure Management Interface", "Web Cache Deception", "Upload Insecure Files"}


def categories():
    root = os.path.join(DATA, "PayloadsAllTheThings")
    cats = collections.OrderedDict()
    for d in sorted(os.listdir(root)):
        p = os.path.join(root, d)
        if not os.path.isdir(p) or d in SKIP:
            continue
        lines = set()
        for dirpath, _, files in os.walk(p):
            for f in files:
                if f.endswith(".md"):
                    continue
                with open(os.path.join(dirpath, f), encoding="utf-8", errors="replace") as fh:
                    for line in fh:
                        line = line.rstrip("\r\n")
                        if line.strip() and len(line) < 2000:
                            lines.add(line)
        cats[d] = sorted(lines)
    return cats


class Client:
    def __init__(self, port):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def send(self, method, path, body=None, headers=None):
        h = {"Host": "shop.example.com", "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"}
        h.update(headers or {})
        for _ in range(2):
            try:
                self.conn.request(method, path, body=body, headers=h)
                r = self.conn.getresponse()
                r.read()
                return r.status
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        return -1


def request(client, position, p):
    q = urllib.parse.quote
    if position == "query":
        return client.send("GET", "/search?q=" + q(p, safe="%/?=&:;,+@!$'()*[]~.-_"))
    if position == "path":
        return client.send("GET", "/products/" + q(p, safe="") + "/reviews")
    if position == "json":
        return client.send("POST", "/api/comments", json.dumps({"comment": p}), {"Content-Type": "application/json"})
    if position == "header":
        printable = all(32 <= ord(c) < 127 for c in p)
        return client.send("GET", "/account", None, {"X-Client-Info": p if printable else q(p, safe="")})
    if position == "cookie":
        return client.send("GET", "/account", None, {"Cookie": "theme=dark; pref=" + q(p, safe="")})
    if position == "form":
        return client.send("POST", "/contact", "name=Jane&message=" + q(p, safe=""), {"Content-Type": "application/x-www-form-urlencoded"})
    if position == "multipart":
        b = "----palisadeprobe"
        body = (f"--{b}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nJane\r\n"
                f"--{b}\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\n{p}\r\n--{b}--\r\n")
        return client.send("POST", "/contact", body.encode("utf-8", "replace"), {"Content-Type": f"multipart/form-data; boundary={b}"})
    if position == "xml":
        body = f"<?xml version=\"1.0\"?><comment><author>Jane</author><text>{xml.sax.saxutils.escape(p)}</text></comment>"
        return client.send("POST", "/api/comments", body.encode("utf-8", "replace"), {"Content-Type": "application/xml"})
    if position == "base64":
        return client.send("GET", "/search?q=" + q(base64.b64encode(p.encode("utf-8", "replace")).decode(), safe=""))
    if position == "jsonu":
        # every character a \\uXXXX escape (a JS-unicode encoder's output)
        esc = "".join("\\u%04x" % ord(c) if ord(c) < 0x10000 else json.dumps(c)[1:-1] for c in p)
        return client.send("POST", "/api/comments", '{"comment":"' + esc + '"}', {"Content-Type": "application/json"})
    if position.startswith("raw"):
        # the payload as the whole body, under a declared type it need not follow
        ctype = {"rawjson": "application/json", "rawxml": "application/xml", "rawtext": "text/plain"}[position]
        return client.send("POST", "/api/comments", p.encode("utf-8", "replace"), {"Content-Type": ctype})
    raise SystemExit(f"unknown position {position}")


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    client = Client(int(sys.argv[1]))
    positions = sys.argv[2:] or ["query", "path", "json", "header", "cookie"]
    cats = categories()
    print(f"{'category':32s} " + " ".join(f"{p:>7s}" for p in positions))
    for cat, payloads in cats.items():
        rates = []
        for position in positions:
            blocked = sum(request(client, position, p) == 403 for p in payloads)
            rates.append(blocked / max(1, len(payloads)))
        print(f"{cat[:32]:32s} " + " ".join(f"{r:7.3f}" for r in rates) + f"   ({len(payloads)})")


if __name__ == "__main__":
    main()
