"""The sandbox process: ``python -I -m offchain.web3compute.sandbox.worker FD``.

Its only channel is the inherited socket ``FD`` (stdin, stdout and stderr are ``/dev/null``). It greets the
host with its member public key, then answers one frame per request with :class:`.runtime.SandboxRuntime`
and exits after ``destroy`` or when the host closes the channel.
"""

from __future__ import annotations

import socket
import sys

from offchain.web3compute.sandbox.errors import ProtocolError
from offchain.web3compute.sandbox.protocol import LENGTH_SIZE, decode, encode, error_reply, frame_length, ok
from offchain.web3compute.sandbox.runtime import SandboxRuntime


def _read(sock: socket.socket, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(min(size - len(chunks), 1 << 20))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


def serve(sock: socket.socket) -> None:
    runtime = SandboxRuntime()
    sock.sendall(encode(ok(member_key=runtime.member_key)))
    while True:
        header = _read(sock, LENGTH_SIZE)
        if header is None:
            break
        try:
            length = frame_length(header)
        except ProtocolError as exc:  # cannot resynchronise: answer once and stop
            sock.sendall(encode(error_reply(exc)))
            break
        body = _read(sock, length)
        if body is None:
            break
        try:
            message = decode(body)
        except ProtocolError as exc:
            sock.sendall(encode(error_reply(exc)))
            continue
        sock.sendall(encode(runtime.handle(message)))
        if message.get("op") == "destroy":
            break
    runtime.handle({"op": "destroy"})  # host went away: zeroise anyway


def main() -> None:
    sock = socket.socket(fileno=int(sys.argv[1]))
    try:
        serve(sock)
    finally:
        sock.close()


if __name__ == "__main__":
    main()
