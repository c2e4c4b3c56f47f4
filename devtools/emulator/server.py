"""HTTP transport: a threading stdlib server whose handler turns sockets into ``Request`` values
and carries out the pipeline's ``Delivery``, including the socket-level faults."""

from __future__ import annotations

import socket
import sys
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from devtools.emulator.http_types import Request, Response, json_response
from devtools.emulator.pipeline import Delivery, process
from devtools.emulator.state import EmulatorState


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], state: EmulatorState) -> None:
        self.state = state
        super().__init__(address, EmulatorHandler)


class EmulatorHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes
    server_version = "InventoryApiEmulator/1.0"
    timeout = 120  # idle keep-alive connections are closed after this many seconds
    server: EmulatorServer

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: object) -> None:
        """Silence http.server's own access log; see ``_log``."""

    def _read_request(self) -> Request:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        return Request(
            method=self.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            client_host=str(self.client_address[0]),
        )

    def _handle(self) -> None:
        started = time.monotonic()
        request = self._read_request()
        try:
            delivery = process(self.server.state, request)
        except Exception:  # a bug in the emulator must not look like a network fault
            traceback.print_exc(file=sys.stderr)
            delivery = Delivery(json_response(500, {"error": "emulator internal error"}))
        self._deliver(delivery)
        if self.server.state.verbose:
            self._log(request, delivery, time.monotonic() - started)

    def _deliver(self, delivery: Delivery) -> None:
        response = delivery.response
        if response is None:
            self._drop()
            return
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        if delivery.truncate:
            self.send_header("Connection", "close")
        self.end_headers()
        if delivery.truncate:
            self.wfile.write(response.body[: len(response.body) // 2])
            self.wfile.flush()
            self._drop()
            return
        self.wfile.write(response.body)

    def _drop(self) -> None:
        """Close the connection abruptly, without (the rest of) a response."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _log(self, request: Request, delivery: Delivery, elapsed: float) -> None:
        response: Response | None = delivery.response
        status = "-" if response is None else str(response.status)
        fault = f" fault={delivery.fault}" if delivery.fault else ""
        query = (
            "?" + "&".join(f"{k}={v}" for k, v in request.query.items()) if request.query else ""
        )
        sys.stderr.write(
            f"{self.client_address[0]} {request.method} {request.path}{query} {status} "
            f"{elapsed * 1000:.1f}ms{fault}\n"
        )
