"""A chat-completions endpoint that answers zstd-compressed, with the headers real APIs send.

The reference model never compresses; hosted APIs do when the client offers it (the openai
client offers zstd whenever ``zstandard`` is installed). Cookies, request ids and dates come
along, as from a real API, so tests can check a cassette keeps none of them.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self

import zstandard

COMPLETION = {
    "id": "chatcmpl-zstd",
    "object": "chat.completion",
    "created": 1767225600,
    "model": "agentrig-operator",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "compressed hello"},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
}


class ZstdServer:
    """``with ZstdServer() as server: ... server.base_url``; ``encodings`` lists what it sent."""

    def __init__(self) -> None:
        self.encodings: list[str] = []
        encodings = self.encodings

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                body = json.dumps(COMPLETION).encode()
                encoding = "identity"
                if "zstd" in self.headers.get("accept-encoding", ""):
                    body, encoding = zstandard.ZstdCompressor().compress(body), "zstd"
                encodings.append(encoding)
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-encoding", encoding)
                self.send_header("content-length", str(len(body)))
                self.send_header("x-request-id", "req_8f2b1c")
                self.send_header("set-cookie", "session=abc123; Path=/; HttpOnly")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return  # quiet: the test output is about the cassette

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
