import argparse
import http.server

parser = argparse.ArgumentParser(description="Serve the scores")
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8000)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")


if __name__ == "__main__":
    args = parser.parse_args()
    print(f"listening on {args.host}:{args.port}", flush=True)
    http.server.HTTPServer((args.host, args.port), Handler).serve_forever()
