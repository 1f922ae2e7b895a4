#!/usr/bin/env python3
"""A fault-injecting HTTP/1.1 reverse proxy, placed between sync clients and anker-relay in
integration tests. Python 3.11 standard library only.

    python3 Tools/fault-proxy.py --upstream 127.0.0.1:8080 --listen-port 0 \\
        --port-file /tmp/proxy.port --seed 1 --faults drop,reorder,duplicate,delay,truncate,flip \\
        --rate 0.3
    python3 Tools/fault-proxy.py --self-test

Each request is forwarded on a new upstream connection with its method, path and query (byte for
byte: they are covered by the request signature), headers (less the hop-by-hop ones) and body.
With probability --rate a request is hit by exactly one fault, chosen uniformly among --faults:

  drop       close the client connection without a response, either before forwarding (the relay
             never sees the request) or after (the relay processed it; the client gets nothing).
  delay      sleep 0.05-0.5 s, then forward.
  duplicate  forward the identical request twice, one after the other; return the first response.
  reorder    hold the request 0.1-0.3 s (requests on other connections pass ahead), then forward;
             for a 200 application/octet-stream answer to GET .../entries (a page: repeated
             u64 BE sequence | u32 BE length | entry) with at least two records, swap two records.
  truncate   send the response head with the original Content-Length but only a random prefix of
             the body (possibly empty), then close the connection.
  flip       flip one random bit of the request body (before forwarding) or of the response body.

All random choices come from random.Random(--seed), drawn in a fixed number per request when it
arrives, so a sequential client sees the same faults on every run. One line per request goes to
stderr: its number, method, path without the query, the status the client got and the fault;
never bodies, queries or header values.

Keep-alive caveat: libcurl (under URLSession on Linux) silently resends a request, POST included,
once on a fresh connection when a REUSED connection closes before any response byte. So a drop on
a kept-alive connection usually turns into a retry (after a drop(after): a replay the relay sees
twice). --close-connections answers every request with Connection: close, so each request comes
on a new connection and a drop reaches the client as an error.
"""
import argparse
import http.client
import http.server
import os
import random
import signal
import socket
import sys
import threading
import time

FAULTS = ("drop", "reorder", "duplicate", "delay", "truncate", "flip")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}
TIMEOUT = 10.0
MAX_BODY = 256 << 20


def _log(line):
    sys.stderr.write("fault-proxy: " + line + "\n")
    sys.stderr.flush()


def _safe_path(target):
    """The path of a request target without its query (or fragment), printable."""
    path = target.split("?", 1)[0].split("#", 1)[0]
    return path.encode("ascii", "backslashreplace").decode("ascii")


def _hop_by_hop(headers):
    """The lower-case names not to forward: the fixed set, Proxy-*, and those named by Connection."""
    names = set(HOP_BY_HOP)
    for name, value in headers:
        if name.lower() == "connection":
            names.update(token.strip().lower() for token in value.split(",") if token.strip())
    return names


def _forwardable(headers, extra=()):
    drop = _hop_by_hop(headers) | {"content-length", *extra}
    return [(n, v) for n, v in headers if n.lower() not in drop and not n.lower().startswith("proxy-")]


def _flip_bit(data, u):
    """Flips the bit at the position chosen by u in [0, 1)."""
    bit = min(int(u * len(data) * 8), len(data) * 8 - 1)
    out = bytearray(data)
    out[bit // 8] ^= 0x80 >> (bit % 8)
    return bytes(out)


def _split_page(body):
    """The records of an entry page (u64 BE seq | u32 BE length | bytes), or None if it isn't one."""
    records, pos = [], 0
    while pos < len(body):
        if len(body) - pos < 12:
            return None
        length = int.from_bytes(body[pos + 8 : pos + 12], "big")
        end = pos + 12 + length
        if end > len(body):
            return None
        records.append(body[pos:end])
        pos = end
    return records


class Plan:
    """What happens to one request: decided on arrival, with a fixed number of draws."""

    def __init__(self, number, fault, u):
        self.number, self.fault, self.u = number, fault, u


class Config:
    def __init__(self, upstream_host, upstream_port, faults, rate, seed, close):
        self.upstream_host, self.upstream_port = upstream_host, upstream_port
        self.faults, self.rate, self.close = list(faults), rate, close
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._count = 0

    def plan(self):
        with self._lock:
            self._count += 1
            r = self._random
            hit, pick = r.random(), r.random()
            u = [r.random() for _ in range(4)]
            fault = None
            if self.faults and hit < self.rate:
                fault = self.faults[min(int(pick * len(self.faults)), len(self.faults) - 1)]
            return Plan(self._count, fault, u)


class Upstream:
    """One forwarded exchange: status, reason, headers, body; or an error."""

    def __init__(self, status=None, reason="", headers=(), body=b"", close=False, error=None):
        self.status, self.reason, self.headers, self.body = status, reason, list(headers), body
        self.close, self.error = close, error


class ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = TIMEOUT
    server_version = "fault-proxy"
    config: Config = None  # set on the subclass made by make_server

    # BaseHTTPRequestHandler's own logging would print the request line, query included.
    def log_message(self, format, *args):
        pass

    def send_error(self, code, message=None, explain=None):
        method = self.command if getattr(self, "command", None) else "-"
        path = _safe_path(self.path) if getattr(self, "path", None) else "-"
        _log(f"- {method} {path} -> {code} fault=- (rejected by the proxy)")
        try:
            super().send_error(code, message, explain)
        except OSError:
            self.close_connection = True

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (ConnectionError, TimeoutError, socket.timeout, BrokenPipeError):
            self.close_connection = True

    def do_proxy(self):
        cfg = self.config
        try:
            body = self._read_body()
        except ValueError as error:
            self.send_error(400, str(error))
            self.close_connection = True
            return
        except (OSError, http.client.HTTPException):
            self.close_connection = True
            return
        plan = cfg.plan()
        fault, u = plan.fault, plan.u
        label = fault or "-"
        note = ""
        request_body = body
        flip_response = False
        if fault == "flip":
            if body and (u[0] < 0.5 or self.command == "HEAD"):
                request_body = _flip_bit(body, u[1])
                label = "flip(request)"
            else:
                flip_response = True
                label = "flip(response)"
        if fault == "drop" and u[0] < 0.5:
            self._finish_log(plan, "-", "drop(before)")
            self.close_connection = True
            return
        if fault == "delay":
            pause = 0.05 + 0.45 * u[0]
            label = f"delay({pause:.2f}s)"
            time.sleep(pause)
        elif fault == "reorder":
            pause = 0.1 + 0.2 * u[0]
            label = f"reorder({pause:.2f}s)"
            time.sleep(pause)

        answer = self._forward(request_body)
        if fault == "duplicate":
            second = self._forward(request_body)
            note = f" (upstream {self._status_text(answer)}, {self._status_text(second)})"

        if fault == "drop":
            self._finish_log(plan, "-", "drop(after)", f" (upstream {self._status_text(answer)})")
            self.close_connection = True
            return
        if answer.error is not None:
            code = 504 if isinstance(answer.error, (TimeoutError, socket.timeout)) else 502
            self._finish_log(plan, code, label, f" (upstream error: {type(answer.error).__name__})")
            self._send_plain(code, f"fault-proxy: upstream error: {type(answer.error).__name__}\n")
            return

        no_body = self.command == "HEAD" or answer.status in (204, 304) or answer.status < 200
        response_body = answer.body
        if fault == "reorder" and not no_body:
            swapped = self._swap_records(answer, u)
            if swapped is not None:
                response_body, (i, j) = swapped
                label = f"reorder({pause:.2f}s, swapped records {i},{j})"
        if flip_response:
            if response_body and not no_body:
                response_body = _flip_bit(response_body, u[1])
            else:
                label = "flip(none: empty bodies)"

        if answer.close or cfg.close:
            self.close_connection = True
        truncated = fault == "truncate" and not no_body and len(response_body) > 0
        if fault == "truncate" and not truncated:
            label = "truncate(none: empty body)"
        try:
            self.send_response_only(answer.status, answer.reason or None)
            for name, value in _forwardable(answer.headers):
                self.send_header(name, value)
            if no_body:
                for name, value in answer.headers:
                    if name.lower() == "content-length":
                        self.send_header(name, value)
            else:
                self.send_header("Content-Length", str(len(response_body)))
            if self.close_connection and not truncated:
                self.send_header("Connection", "close")
            self.end_headers()
            if truncated:
                keep = min(int(u[0] * len(response_body)), len(response_body) - 1)
                label = f"truncate({keep}/{len(response_body)})"
                self.wfile.write(response_body[:keep])
                self.close_connection = True
            elif not no_body:
                self.wfile.write(response_body)
        except OSError:
            self.close_connection = True
            note += " (client went away)"
        self._finish_log(plan, answer.status, label, note)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_proxy

    # -- helpers

    def _read_body(self):
        encoding = (self.headers.get("Transfer-Encoding") or "").strip().lower()
        if encoding:
            if encoding != "chunked":
                raise ValueError("unsupported Transfer-Encoding")
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        if not length.strip().isdigit() or int(length) > MAX_BODY:
            raise ValueError("bad Content-Length")
        length = int(length)
        data = self.rfile.read(length)
        if len(data) != length:
            raise ConnectionError("short request body")
        return data

    def _read_chunked(self):
        parts, total = [], 0
        while True:
            line = self.rfile.readline(1024)
            if not line.endswith(b"\n"):
                raise ConnectionError("truncated chunk size")
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise ValueError("bad chunk size") from None
            if size == 0:
                while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
                    pass  # trailers, dropped
                return b"".join(parts)
            total += size
            if total > MAX_BODY:
                raise ValueError("body too large")
            chunk = self.rfile.read(size)
            if len(chunk) != size:
                raise ConnectionError("truncated chunk")
            parts.append(chunk)
            self.rfile.readline(1024)

    def _request_headers(self, body):
        headers = _forwardable(self.headers.items(), extra=("expect",))
        names = {n.lower() for n, _ in headers}
        if "host" not in names:
            headers.insert(0, ("Host", f"{self.config.upstream_host}:{self.config.upstream_port}"))
        had_length = "Content-Length" in self.headers or "Transfer-Encoding" in self.headers
        if body or had_length or self.command in ("POST", "PUT", "PATCH"):
            headers.append(("Content-Length", str(len(body))))
        return headers

    def _forward(self, body):
        cfg = self.config
        conn = http.client.HTTPConnection(cfg.upstream_host, cfg.upstream_port, timeout=TIMEOUT)
        try:
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self._request_headers(body):
                conn.putheader(name, value)
            conn.endheaders(body if body else None)
            resp = conn.getresponse()
            data = resp.read()
            headers = resp.getheaders()
            close = any(
                n.lower() == "connection" and "close" in v.lower() for n, v in headers
            ) or resp.version == 10
            return Upstream(resp.status, resp.reason, headers, data, close)
        except (OSError, http.client.HTTPException) as error:
            return Upstream(error=error)
        finally:
            conn.close()

    def _swap_records(self, answer, u):
        if self.command != "GET" or answer.status != 200:
            return None
        if not _safe_path(self.path).endswith("/entries"):
            return None
        ctype = next((v for n, v in answer.headers if n.lower() == "content-type"), "")
        if ctype.split(";", 1)[0].strip().lower() != "application/octet-stream":
            return None
        records = _split_page(answer.body)
        if records is None or len(records) < 2:
            return None
        n = len(records)
        i = min(int(u[1] * n), n - 1)
        j = min(int(u[2] * (n - 1)), n - 2)
        if j >= i:
            j += 1
        records[i], records[j] = records[j], records[i]
        return b"".join(records), (min(i, j), max(i, j))

    def _send_plain(self, code, text):
        data = text.encode()
        self.close_connection = True
        try:
            self.send_response_only(code)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass

    @staticmethod
    def _status_text(answer):
        return str(answer.status) if answer.error is None else type(answer.error).__name__

    def _finish_log(self, plan, status, label, note=""):
        _log(f"#{plan.number} {self.command} {_safe_path(self.path)} -> {status} fault={label}{note}")


class ProxyServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def handle_error(self, request, client_address):
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError, socket.timeout)):
            return
        _log(f"internal error: {type(error).__name__}: {error}")


def make_server(config, host="127.0.0.1", port=0):
    handler = type("Handler", (ProxyHandler,), {"config": config})
    return ProxyServer((host, port), handler)


def parse_faults(text):
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    if names == ["none"] or not names:
        return []
    if names == ["all"]:
        return list(FAULTS)
    unknown = [n for n in names if n not in FAULTS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown fault(s) {', '.join(unknown)}; known: {', '.join(FAULTS)}, none, all")
    return list(dict.fromkeys(names))


def parse_upstream(text):
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise argparse.ArgumentTypeError("expected HOST:PORT")
    return host.strip("[]"), int(port)


def parse_rate(text):
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("the rate is a probability in [0, 1]")
    return value


def write_port_file(path, port):
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(f"{port}\n")
    os.replace(tmp, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", type=parse_upstream, help="HOST:PORT of the relay")
    parser.add_argument("--listen-host", default="127.0.0.1")
    parser.add_argument("--listen-port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--port-file", help="where to write the bound port once listening")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--faults", type=parse_faults, default=[], help=f"comma list of {','.join(FAULTS)}; or none, all")
    parser.add_argument("--rate", type=parse_rate, default=0.3, help="probability a request is hit by one fault")
    parser.add_argument("--close-connections", action="store_true",
                        help="answer every request with Connection: close (no keep-alive to the client)")
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args(argv)
    if args.self_test:
        return self_test()
    if args.upstream is None:
        parser.error("--upstream is required")

    config = Config(*args.upstream, args.faults, args.rate, args.seed, args.close_connections)
    server = make_server(config, args.listen_host, args.listen_port)
    port = server.server_address[1]

    # Raising from a signal handler could land in socketserver's `except Exception` around
    # process_request and be swallowed; ask serve_forever to return instead.
    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    # Explicit handlers: a shell starting us in the background may have set SIGINT to ignored.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.port_file:
        write_port_file(args.port_file, port)
    _log(f"listening on {args.listen_host}:{port}, upstream {args.upstream[0]}:{args.upstream[1]}, "
         f"faults={','.join(args.faults) or 'none'} rate={args.rate} seed={args.seed}")
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        server.server_close()
        _log("stopped")
    return 0


# ---------------------------------------------------------------------------------------------
# Self-test: a local upstream, the proxy as a subprocess (the real CLI), http.client requests.

GET_BODY = bytes((i * 7 + 3) % 256 for i in range(1000))
PAGE_RECORDS = [
    (seq).to_bytes(8, "big") + len(payload).to_bytes(4, "big") + payload
    for seq, payload in ((s, bytes([s]) * (20 + 13 * s)) for s in range(1, 6))
]
PAGE_BODY = b"".join(PAGE_RECORDS)
SECRET_QUERY = "after=5&limit=3&sig=a%2Bb%3D"
SECRET_HEADER = "sig-value-Zm9vYmFy=="


class _Upstream(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = TIMEOUT
    seen = []
    lock = threading.Lock()

    def log_message(self, format, *args):
        pass

    def _record(self, body):
        with self.lock:
            self.seen.append((self.command, self.path, self.headers.items(), body))
            return len(self.seen)

    def do_GET(self):
        number = self._record(b"")
        path = self.path.split("?", 1)[0]
        if path == "/close":
            # close-delimited, no Content-Length
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"closing")
            self.close_connection = True
            return
        body = PAGE_BODY if path.endswith("/entries") else GET_BODY
        self._reply(body, number)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        self._reply(body, self._record(body))

    do_PUT = do_POST

    def _reply(self, body, number):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("X-Upstream-Seq", str(number))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Proxy:
    running = []

    def __init__(self, tmp, upstream_port, faults, rate=1.0, seed=1, extra=()):
        import subprocess

        self.port_file = os.path.join(tmp, f"port-{faults}-{seed}-{time.monotonic_ns()}")
        self.log_path = self.port_file + ".log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--upstream", f"127.0.0.1:{upstream_port}",
             "--listen-port", "0", "--port-file", self.port_file, "--seed", str(seed),
             "--faults", faults, "--rate", str(rate), *extra],
            stderr=self.log,
        )
        _Proxy.running.append(self)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.port_file):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError("the proxy did not start")
            time.sleep(0.02)
        with open(self.port_file) as f:
            self.port = int(f.read())

    def connect(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)

    def stop(self, sig=signal.SIGTERM):
        _Proxy.running.remove(self)
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(5)
        except Exception:
            self.proc.kill()
            self.proc.wait()
            raise
        finally:
            self.log.close()
        with open(self.log_path) as f:
            text = f.read()
        assert code == 0, f"the proxy exited {code} on {signal.Signals(sig).name}"
        assert text.rstrip().endswith("stopped"), "no clean stop"
        return [line for line in text.splitlines() if line.startswith("fault-proxy: #")]


def _request(proxy, method, path, body=None, headers=None, chunked=False):
    """(status, headers dict, body) or (None, None, exception)."""
    conn = proxy.connect()
    try:
        conn.request(method, path, body=body, headers=headers or {}, encode_chunked=chunked)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, dict(resp.getheaders()), data
    except (OSError, http.client.HTTPException) as error:
        return None, None, error
    finally:
        conn.close()


def _bits_differ(a, b):
    assert len(a) == len(b)
    return sum(bin(x ^ y).count("1") for x, y in zip(a, b))


def self_test():
    import tempfile

    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    upstream.daemon_threads = True
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    up_port = upstream.server_address[1]
    seen = _Upstream.seen
    results = []

    def reset():
        with _Upstream.lock:
            seen.clear()

    def check(name, fn):
        reset()
        started = time.monotonic()
        try:
            try:
                detail = fn()
            finally:
                for proxy in list(_Proxy.running):  # left running by a failed assertion
                    _Proxy.running.remove(proxy)
                    proxy.proc.kill()
                    proxy.proc.wait()
                    proxy.log.close()
        except AssertionError as error:
            results.append((name, False, str(error)))
            print(f"FAIL {name}: {error}")
            return
        except Exception as error:  # noqa: BLE001 -- a test harness reports everything
            results.append((name, False, repr(error)))
            print(f"FAIL {name}: {error!r}")
            return
        results.append((name, True, detail))
        print(f"ok   {name}: {detail} [{time.monotonic() - started:.1f} s]")

    rng = random.Random(99)
    post_body = bytes(rng.randrange(256) for _ in range(5000))
    entries_path = "/v1/journals/ab%2Fcd/entries?" + SECRET_QUERY

    with tempfile.TemporaryDirectory() as tmp:

        def t_none():
            p = _Proxy(tmp, up_port, "none")
            # keep-alive: several requests on one connection
            conn = p.connect()
            for _ in range(3):
                conn.request("GET", "/blob", headers={"X-Anker-Signature": SECRET_HEADER})
                resp = conn.getresponse()
                assert resp.read() == GET_BODY and resp.status == 200, "GET body changed"
            conn.request("POST", entries_path, body=post_body, headers={
                "X-Anker-Signature": SECRET_HEADER, "Proxy-Authorization": "secret-proxy",
                "Keep-Alive": "timeout=5", "Connection": "keep-alive, X-Drop-Me", "X-Drop-Me": "1",
                "Content-Type": "application/octet-stream"})
            resp = conn.getresponse()
            assert resp.read() == post_body, "POST echo changed"
            conn.close()
            method, path, headers, body = seen[-1]
            names = {n.lower(): v for n, v in headers}
            assert path == entries_path, f"path+query changed: {path!r}"
            assert names.get("x-anker-signature") == SECRET_HEADER, "signature header changed"
            assert names.get("host") == f"127.0.0.1:{p.port}", "Host not preserved"
            assert not {"proxy-authorization", "keep-alive", "x-drop-me", "connection"} & names.keys(), \
                "hop-by-hop header forwarded"
            assert body == post_body and names.get("content-length") == str(len(post_body))
            # chunked request body -> Content-Length upstream
            status, _, data = _request(p, "POST", "/echo", body=iter([post_body[:100], post_body[100:]]),
                                       headers={"Transfer-Encoding": "chunked"}, chunked=True)
            assert status == 200 and data == post_body, "chunked POST"
            names = {n.lower(): v for n, v in seen[-1][2]}
            assert "transfer-encoding" not in names and names["content-length"] == str(len(post_body))
            # empty PUT keeps Content-Length: 0
            status, _, data = _request(p, "PUT", "/v1/journals/x", body=b"")
            assert status == 200 and data == b"" and dict(
                (n.lower(), v) for n, v in seen[-1][2]).get("content-length") == "0", "empty PUT"
            # a close-delimited upstream answer: body relayed, Connection: close to the client
            conn = p.connect()
            conn.request("GET", "/close")
            resp = conn.getresponse()
            assert resp.read() == b"closing" and resp.will_close, "Connection: close answer"
            conn.close()
            status, _, data = _request(p, "GET", entries_path)
            assert status == 200 and data == PAGE_BODY, "page changed"
            lines = p.stop()
            text = "\n".join(lines)
            assert len(lines) == 8, f"{len(lines)} log lines for 8 requests"
            for secret in (SECRET_QUERY, "after=", SECRET_HEADER, "secret-proxy"):
                assert secret not in text, f"the log leaks {secret!r}"
            assert all("fault=-" in line for line in lines)
            return "bodies, path+query, headers identical; hop-by-hop removed; chunked, empty PUT, " \
                   "Connection: close handled; log has no query or header values"

        def t_drop():
            p = _Proxy(tmp, up_port, "drop")
            n, failed = 30, 0
            for i in range(n):
                status, _, err = _request(p, "POST", f"/echo/{i}", body=post_body)
                failed += status is None
            lines = p.stop()
            after = sum("drop(after)" in line for line in lines)
            before = sum("drop(before)" in line for line in lines)
            assert failed == n, f"{n - failed} requests got a response"
            assert len(seen) == after and before + after == n, "upstream count does not match"
            assert before and after, "only one kind of drop in 30 tries"
            return f"{n}/{n} got no response; {before} before forwarding (relay never saw it), " \
                   f"{after} after (relay saw it)"

        def t_delay():
            p = _Proxy(tmp, up_port, "delay")
            times = []
            for _ in range(8):
                start = time.monotonic()
                status, _, data = _request(p, "GET", "/blob")
                times.append(time.monotonic() - start)
                assert status == 200 and data == GET_BODY, "delayed body changed"
            p.stop()
            assert min(times) >= 0.05 and max(times) < 1.0, f"delays {min(times):.3f}-{max(times):.3f} s"
            assert len(seen) == 8
            return f"8 requests delayed {min(times):.2f}-{max(times):.2f} s, bodies intact"

        def t_duplicate():
            p = _Proxy(tmp, up_port, "duplicate")
            status, headers, data = _request(p, "POST", entries_path, body=post_body,
                                             headers={"X-Anker-Signature": SECRET_HEADER})
            assert status == 200 and data == post_body, "duplicated POST answer"
            assert len(seen) == 2, f"upstream saw {len(seen)} requests"
            (m1, p1, h1, b1), (m2, p2, h2, b2) = seen
            assert (m1, p1, list(h1), b1) == (m2, p2, list(h2), b2), "the two copies differ"
            assert headers["X-Upstream-Seq"] == "1", "not the first response"
            status, _, data = _request(p, "GET", "/blob")
            assert status == 200 and data == GET_BODY and len(seen) == 4
            p.stop()
            return "upstream saw each request twice, byte-identical; the client got the first answer"

        def t_reorder():
            p = _Proxy(tmp, up_port, "reorder")
            swaps, times = 0, []
            for _ in range(5):
                start = time.monotonic()
                status, _, data = _request(p, "GET", entries_path)
                times.append(time.monotonic() - start)
                assert status == 200 and len(data) == len(PAGE_BODY)
                records = _split_page(data)
                assert sorted(records) == sorted(PAGE_RECORDS), "records lost or changed"
                moved = [i for i, r in enumerate(records) if r != PAGE_RECORDS[i]]
                assert len(moved) == 2, f"{len(moved)} records moved"
                swaps += 1
            start = time.monotonic()
            status, _, data = _request(p, "GET", "/blob")
            times.append(time.monotonic() - start)
            assert status == 200 and data == GET_BODY, "a non-page body changed"
            status, _, data = _request(p, "POST", "/v1/journals/x/entries", body=PAGE_BODY)
            assert status == 200 and data == PAGE_BODY, "a POST answer was reordered"
            lines = p.stop()
            assert min(times) >= 0.1 and max(times) < 1.0, f"holds {min(times):.3f}-{max(times):.3f} s"
            assert sum("swapped records" in line for line in lines) == 5
            return f"held {min(times):.2f}-{max(times):.2f} s; {swaps}/5 pages had exactly two records " \
                   "swapped; other bodies intact"

        def t_truncate():
            p = _Proxy(tmp, up_port, "truncate")
            short = []
            for _ in range(10):
                status, _, err = _request(p, "GET", "/blob")
                assert status is None, "a truncated body read completely"
                assert isinstance(err, http.client.IncompleteRead), f"unexpected {err!r}"
                short.append(len(err.partial))
            lines = p.stop()
            assert len(seen) == 10 and all(n < len(GET_BODY) for n in short)
            assert all("truncate(" in line for line in lines)
            return f"10/10 reads failed short (IncompleteRead), got {min(short)}-{max(short)} of 1000 bytes"

        def t_flip():
            p = _Proxy(tmp, up_port, "flip")
            for _ in range(6):
                status, _, data = _request(p, "GET", "/blob")
                assert status == 200 and _bits_differ(data, GET_BODY) == 1, "GET: not one bit"
            on_request = 0
            for i in range(20):
                status, _, data = _request(p, "POST", f"/echo/{i}", body=post_body)
                assert status == 200 and _bits_differ(data, post_body) == 1, "POST: not one bit"
                on_request += seen[-1][3] != post_body
            lines = p.stop()
            logged = sum("flip(request)" in line for line in lines)
            assert logged == on_request, "request flips do not match the log"
            assert 0 < on_request < 20, "only one side flipped in 20 tries"
            return f"every answer differs in exactly one bit; {on_request}/20 POSTs flipped on the " \
                   f"way in (relay saw it), {20 - on_request} on the way out"

        def t_mix():
            runs = []
            for _ in range(2):
                p = _Proxy(tmp, up_port, ",".join(FAULTS), rate=0.5, seed=7)
                for i in range(24):
                    if i % 2:
                        _request(p, "POST", f"/echo/{i}", body=post_body)
                    else:
                        _request(p, "GET", entries_path)
                status, _, data = _request(p, "GET", "/blob")  # still serving
                assert status is not None, "the proxy stopped serving"
                runs.append(sorted(p.stop(), key=lambda line: int(line.split("#")[1].split()[0])))
            assert runs[0] == runs[1], "the same seed gave different faults"
            hit = sum("fault=-" not in line for line in runs[0][:24])
            return f"rate 0.5, all faults, seed 7: {hit}/24 hit, two runs logged identically"

        def t_upstream_down():
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            dead = sock.getsockname()[1]
            sock.close()
            p = _Proxy(tmp, dead, "none")
            status, _, _ = _request(p, "GET", "/blob")
            p.stop()
            assert status == 502, f"got {status}"
            return "502 when the relay is unreachable"

        def t_close():
            p = _Proxy(tmp, up_port, "none", extra=("--close-connections",))
            conn = p.connect()
            conn.request("GET", "/blob")
            resp = conn.getresponse()
            assert resp.read() == GET_BODY and resp.getheader("Connection") == "close", "no close"
            assert resp.will_close
            conn.close()
            p.stop(signal.SIGINT)
            return "every answer carries Connection: close; SIGINT stops it with exit 0"

        check("none", t_none)
        check("drop", t_drop)
        check("delay", t_delay)
        check("duplicate", t_duplicate)
        check("reorder", t_reorder)
        check("truncate", t_truncate)
        check("flip", t_flip)
        check("mix+seed", t_mix)
        check("upstream-down", t_upstream_down)
        check("close-connections", t_close)

    upstream.shutdown()
    upstream.server_close()
    failed = [name for name, ok, _ in results if not ok]
    print(f"self-test: {len(results) - len(failed)}/{len(results)} passed"
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
