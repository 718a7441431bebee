#!/usr/bin/env python3
"""Raw HTTP/1.1 requests from JSONL corpora, for bench/mixed.lua: each request as its
length in bytes on a line, then the bytes. Usage: corpus_requests.py DIR|FILE... > OUT

The requests are built as `palisade::corpus::CorpusEntry::to_model` sees them: the
entry's headers, `Host: app.example.com` when it has none, a Content-Length for a body (or
a POST/PUT/PATCH without one), `body_base64` decoded. Entries whose path a server cannot
take as a request target (whitespace, control bytes) or that ask for a protocol switch
(`Upgrade`: a tunnel wrk would wait on), and HEAD requests (wrk's parser would wait for
the body the response's Content-Length announces) are left out and counted on stderr.
"""
import base64
import json
import pathlib
import sys


def requests(path):
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line:
            continue
        e = json.loads(line)
        target = e["path"]
        upgrade = any(n.lower() == "upgrade" for n in e.get("headers", {}))
        if upgrade or e.get("method") == "HEAD" or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in target):
            yield None
            continue
        body = e.get("body", "")
        body = base64.b64decode(body) if e.get("body_base64") else body.encode()
        method = e.get("method", "GET")
        headers = dict(e.get("headers", {}))
        names = {n.lower() for n in headers}
        if "host" not in names:
            headers["Host"] = "app.example.com"
        framed = "content-length" in names or "transfer-encoding" in names
        if not framed and (body or method in ("POST", "PUT", "PATCH")):
            headers["Content-Length"] = str(len(body))
        head = f"{method} {target} HTTP/1.1\r\n" + "".join(
            f"{n}: {v}\r\n" for n, v in headers.items()
        )
        yield head.encode() + b"\r\n" + body


def main():
    files = []
    for arg in sys.argv[1:]:
        p = pathlib.Path(arg)
        files += sorted(p.glob("*.jsonl")) if p.is_dir() else [p]
    # the files' requests taken in turn, as varied traffic arrives
    lists = [list(requests(f)) for f in files]
    out, kept, skipped = sys.stdout.buffer, 0, 0
    for i in range(max(map(len, lists), default=0)):
        for reqs in lists:
            if i < len(reqs):
                if reqs[i] is None:
                    skipped += 1
                    continue
                out.write(b"%d\n" % len(reqs[i]) + reqs[i])
                kept += 1
    print(f"{kept} requests ({skipped} left out)", file=sys.stderr)


main()
