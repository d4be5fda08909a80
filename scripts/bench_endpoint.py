"""A fast bot endpoint for the benchmark: asyncio, HTTP/1.1 keep-alive, answers 200 JSON.

Paths: /fast answers at once, /slow/<n> after --delay seconds, /hang never. Prints its port.
"""

from __future__ import annotations

import argparse
import asyncio

ANSWER = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'


class Endpoint(asyncio.Protocol):
    delay = 0.2

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end]
            length = 0
            for line in head.split(b"\r\n")[1:]:
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            path = head.split(b" ", 2)[1]
            if path.startswith(b"/slow"):
                asyncio.get_running_loop().call_later(self.delay, self._answer)
            elif not path.startswith(b"/hang"):
                self.transport.write(ANSWER)

    def _answer(self) -> None:
        if not self.transport.is_closing():
            self.transport.write(ANSWER)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--delay", type=float, default=0.2)
    args = parser.parse_args()
    Endpoint.delay = args.delay
    server = await asyncio.get_running_loop().create_server(Endpoint, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
