"""Raw HTTP for server tests (the server itself runs through webapp.local_server).

Not a test module itself. ``raw_get`` writes the request line byte for byte, so paths reach the
server exactly as given (HTTP clients and TestClient normalise or reject some of them).
"""

from __future__ import annotations

import socket


def raw_get(port: int, target: bytes, timeout_s: float = 10.0) -> tuple[int, bytes]:
    """Send ``GET <target> HTTP/1.1`` to 127.0.0.1:port as raw bytes; return (status, whole response).

    The status is 0 when the server closed the connection without answering.
    """
    request = b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    response = b"".join(chunks)
    status_line = response.split(b"\r\n", 1)[0].split()
    return (int(status_line[1]) if len(status_line) > 1 else 0), response
