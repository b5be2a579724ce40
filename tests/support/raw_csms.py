"""A CSMS on a bare TCP socket that reads only when the test says so.

Owns one listening socket on 127.0.0.1 and the one connection it accepts: the websocket
handshake (RFC 6455, agreeing the OCPP subprotocol), unmasked server frames out
(``send_text``, ``send_texts``), masked client frames in (``read_text``). Between the
handshake and a ``read_text`` nothing reads the socket, so a peer writing to it fills the
TCP buffers: the CSMS that stops reading. Used where a real CSMS library would read for us.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import struct
import threading

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def server_frame(text: str) -> bytes:
    """One unmasked, unfragmented text frame (server to client)."""
    data = text.encode("utf-8")
    if len(data) < 126:
        header = struct.pack("!BB", 0x81, len(data))
    elif len(data) < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, len(data))
    else:
        header = struct.pack("!BBQ", 0x81, 127, len(data))
    return header + data


def _unmask(data: bytes, mask: bytes) -> bytes:
    key = (mask * (len(data) // 4 + 1))[:len(data)]
    return (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(len(data), "big")


class RawCsms:
    def __init__(self, subprotocol: str = "ocpp1.6", *, receive_buffer: int | None = None) -> None:
        """``receive_buffer``: a fixed SO_RCVBUF for the connection (no autotuning), so that a
        test knows how much it holds (``received_buffer_bytes``)."""
        self.subprotocol = subprotocol
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer is not None:  # before listen(): the accepted socket inherits it
            self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.conn: socket.socket | None = None
        self.request_head = ""
        self._pending = b""
        self._senders: list[threading.Thread] = []

    @property
    def receive_buffer_bytes(self) -> int:
        """The accepted connection's receive buffer as the kernel sized it."""
        return self.conn.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp"

    def __enter__(self) -> RawCsms:
        return self

    def __exit__(self, *exc) -> None:
        for s in (self.conn, self.listener):
            if s is not None:
                s.close()

    # -- handshake -------------------------------------------------------------------
    def accept(self, timeout: float = 20) -> str:
        """Accept one connection and complete the websocket handshake; returns the request head."""
        self.listener.settimeout(timeout)
        self.conn, _ = self.listener.accept()
        self.conn.settimeout(timeout)
        while b"\r\n\r\n" not in self._pending:
            chunk = self.conn.recv(4096)
            if not chunk:
                raise ConnectionError("closed during the handshake")
            self._pending += chunk
        head, self._pending = self._pending.split(b"\r\n\r\n", 1)
        self.request_head = head.decode("latin-1")
        key = next(line.split(":", 1)[1].strip() for line in self.request_head.split("\r\n")
                   if line.lower().startswith("sec-websocket-key:"))
        accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        self.conn.sendall((f"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Protocol: {self.subprotocol}\r\n\r\n")
                          .encode())
        return self.request_head

    # -- writing ---------------------------------------------------------------------
    def send_text(self, text: str) -> None:
        self.conn.sendall(server_frame(text))

    def send_texts(self, texts: list[str]) -> threading.Thread:
        """Write many frames in one go from a thread of their own (the peer may stop reading
        before they are all in); returns the thread."""
        data = b"".join(server_frame(t) for t in texts)
        sender = threading.Thread(target=self.conn.sendall, args=(data,), daemon=True)
        sender.start()
        self._senders.append(sender)
        return sender

    # -- reading ---------------------------------------------------------------------
    def _exactly(self, n: int) -> bytes:
        while len(self._pending) < n:
            chunk = self.conn.recv(1 << 20)
            if not chunk:
                raise ConnectionError("the client closed the connection")
            self._pending += chunk
        data, self._pending = self._pending[:n], self._pending[n:]
        return data

    def read_text(self) -> str:
        """The next text frame from the client (its pings and pongs are skipped)."""
        while True:
            first, second = self._exactly(2)
            opcode, length = first & 0x0F, second & 0x7F
            if length == 126:
                length = struct.unpack("!H", self._exactly(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", self._exactly(8))[0]
            mask = self._exactly(4) if second & 0x80 else b"\0\0\0\0"
            payload = _unmask(self._exactly(length), mask)
            if opcode == 0x8:
                raise ConnectionError("the client sent a close frame")
            if opcode == 0x1:
                return payload.decode("utf-8")

    def read_message(self) -> list:
        return json.loads(self.read_text())

    def read_call(self, action: str) -> list:
        """Read until the client's CALL of ``action``; returns it."""
        while True:
            message = self.read_message()
            if message[0] == 2 and message[2] == action:
                return message
