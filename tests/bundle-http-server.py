#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A small HTTP server for the bundle tests, on 127.0.0.1.

Serves the files of DIR with Range support. With --drop-after N, the first
response for each file stops after N bytes of its body and the connection
is closed, as a network failure would; later requests are served whole.
Every request is logged to --log as "PATH RANGE" (RANGE "-" when absent).
Prints the port on stdout once it listens.
"""
import argparse
import http.server
import os
import re
import sys
import threading

lock = threading.Lock()
dropped = set()


def make_handler(root, drop_after, log_path):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def log_request_line(self):
            with lock, open(log_path, "a") as log:
                log.write("%s %s\n" % (self.path, self.headers.get("Range", "-")))

        def do_GET(self):
            self.log_request_line()
            path = os.path.join(root, self.path.lstrip("/"))
            if not os.path.isfile(path):
                self.send_error(404)
                return
            size = os.path.getsize(path)
            start = 0
            match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
            if match:
                start = int(match.group(1))
                self.send_response(206)
                self.send_header("Content-Range", "bytes %d-%d/%d" % (start, size - 1, size))
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(size - start))
            self.end_headers()
            limit = size - start
            with lock:
                if drop_after is not None and self.path not in dropped:
                    dropped.add(self.path)
                    limit = min(limit, drop_after)
            with open(path, "rb") as f:
                f.seek(start)
                while limit > 0:
                    chunk = f.read(min(65536, limit))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    limit -= len(chunk)
            self.wfile.flush()
            if drop_after is not None:
                self.close_connection = True

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    parser.add_argument("--drop-after", type=int)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()
    handler = make_handler(os.path.abspath(args.dir), args.drop_after, args.log)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
