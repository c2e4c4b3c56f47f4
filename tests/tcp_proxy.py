"""A TCP proxy on loopback that can cut a server off: the way to stop the S3 server mid-write
without losing what it holds (moto keeps its data in memory, so a real restart would)."""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType

HTTP_METHODS = (b"GET ", b"PUT ", b"POST ", b"HEAD ", b"DELETE ", b"PATCH ")


def _starts_request(data: bytes) -> bool:
    return data.startswith(HTTP_METHODS)


class CuttableProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._cut = threading.Event()
        self._cut_after: bytes | None = None
        self._cut_next_request = False
        self._closing = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cut(self) -> None:
        """From now on, every connection is dropped at once."""
        self._cut.set()
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self._open.clear()

    def cut_after_request(self, method: str) -> None:
        """Let the next request with this HTTP method through, then cut at the request after."""
        self._cut_after = method.encode() + b" "

    def restore(self) -> None:
        self._cut_after = None
        self._cut_next_request = False
        self._cut.clear()

    @property
    def is_cut(self) -> bool:
        return self._cut.is_set()

    def close(self) -> None:
        self._closing.set()
        self.cut()
        self._listener.close()

    def __enter__(self) -> CuttableProxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._cut.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self._target, timeout=10)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open.update({client, upstream})
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, from_client: bool) -> None:
        try:
            while not self._cut.is_set():
                data = source.recv(65536)
                if not data:
                    break
                if from_client and _starts_request(data):
                    if self._cut_next_request:
                        self.cut()
                        break
                    if self._cut_after and data.startswith(self._cut_after):
                        self._cut_after = None
                        self._cut_next_request = True
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.close()
            with self._lock:
                self._open.discard(source)
                self._open.discard(sink)
