"""A TCP proxy on loopback that can cut a server off: the way to stop the S3 server mid-write
without losing what it holds (moto keeps its data in memory, so a real restart would). It can
also stall one chosen request, or the answer to one (the server did the work, the client never
hears of it), so a client can be killed at an exact point of its work."""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import unquote

HTTP_METHODS = (b"GET ", b"PUT ", b"POST ", b"HEAD ", b"DELETE ", b"PATCH ")


def _starts_request(data: bytes) -> bool:
    return data.startswith(HTTP_METHODS)


@dataclass(frozen=True)
class RequestMatch:
    """An HTTP method and a piece of the request path (as decoded text)."""

    method: str
    path_contains: str = ""

    def __call__(self, data: bytes) -> bool:
        request_line = unquote(data.split(b"\r\n", 1)[0].decode("latin-1"))
        return request_line.startswith(self.method + " ") and self.path_contains in request_line


class CuttableProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._cut = threading.Event()
        self._cut_after: RequestMatch | None = None
        self._cut_next_request = False
        self._let_through = 0
        self._stall: RequestMatch | None = None
        self.stalled = threading.Event()
        self._watch: RequestMatch | None = None
        self.seen = threading.Event()
        self._stall_answer: RequestMatch | None = None
        self._answer_held_for: socket.socket | None = None
        self.answer_stalled = threading.Event()
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

    def cut_after_request(self, method: str, path_contains: str = "", *, then: int = 0) -> None:
        """Let the next matching request through, and `then` more requests after it, then cut
        at the next one."""
        self._let_through = then
        self._cut_after = RequestMatch(method, path_contains)

    def stall_request(self, method: str, path_contains: str = "") -> threading.Event:
        """Hold the next matching request: it never reaches the server, its client waits for
        an answer. The event is set once it is held."""
        self.stalled.clear()
        self._stall = RequestMatch(method, path_contains)
        return self.stalled

    def stall_response(self, method: str, path_contains: str = "") -> threading.Event:
        """Send the next matching request to the server but hold its answer: the server has
        done the work, the client waits. The event is set once the answer is held."""
        self.answer_stalled.clear()
        self._stall_answer = RequestMatch(method, path_contains)
        return self.answer_stalled

    def watch_request(self, method: str, path_contains: str = "") -> threading.Event:
        """An event set when the next matching request passes through."""
        self.seen.clear()
        self._watch = RequestMatch(method, path_contains)
        return self.seen

    def restore(self) -> None:
        self._cut_after = None
        self._cut_next_request = False
        self._let_through = 0
        self._stall = None
        self.stalled.clear()
        self._stall_answer = None
        self._answer_held_for = None
        self.answer_stalled.clear()
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
                    if self._cut_next_request and self._let_through == 0:
                        self.cut()
                        break
                    if self._cut_next_request:
                        self._let_through -= 1
                    if self._watch and self._watch(data):
                        self._watch = None
                        self.seen.set()
                    if self._stall and self._stall(data):
                        self._stall = None
                        self.stalled.set()
                        self._closing.wait()  # held (never sent) until the proxy closes
                        break
                    if self._cut_after and self._cut_after(data):
                        self._cut_after = None
                        self._cut_next_request = True
                    if self._stall_answer and self._stall_answer(data):
                        self._stall_answer = None
                        self._answer_held_for = source
                elif (
                    not from_client
                    and sink is self._answer_held_for
                    # "100 Continue" only invites the request's body: the answer comes after it.
                    and not data.startswith(b"HTTP/1.1 100")
                ):
                    self.answer_stalled.set()
                    self._closing.wait()  # the answer is held until the proxy closes
                    break
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
