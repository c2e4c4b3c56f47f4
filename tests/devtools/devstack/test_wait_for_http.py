"""Waiting for a local server to come up waits for its answer, not for a fast one: on a busy
machine a live server's health check takes seconds (a load average of 10-20 on 2 cores)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from devtools.devstack.processes import free_port, spawn, stop_pid_group, wait_for_http

ANSWER_AFTER_S = 2.5  # longer than the 1 s a probe used to wait for an answer

SLOW_SERVER = f"""
import http.server, sys, time

class Slow(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep({ANSWER_AFTER_S})  # the CPU the process does not get on a busy machine
        self.send_response(200)
        self.end_headers()

http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Slow).serve_forever()
"""


def test_a_server_that_answers_slowly_is_seen_up_once_it_answers(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "slow.log"
    process = spawn([sys.executable, "-c", SLOW_SERVER, str(port)], log)
    try:
        started = time.monotonic()
        wait_for_http(process, f"http://127.0.0.1:{port}/health", log, timeout_s=30)
        assert time.monotonic() - started >= ANSWER_AFTER_S
    finally:
        stop_pid_group(process.pid)
