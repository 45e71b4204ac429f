"""A server that lies, for the browser tests: a man-in-the-middle on loopback in front of the real
`haven serve`, serving the widget's files through and relaying every WebSocket frame, with rules
that rewrite, drop, replay or invent frames per member (the websockets library from PyPI does the
WebSocket protocol). Browsers open the liar's URL as if it were the server.
"""
import asyncio
import json
import threading
import urllib.error
import urllib.request

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.datastructures import Headers
from websockets.http11 import Response
from websockets.typing import Origin

PASSED_HEADERS = ("Content-Type", "Content-Security-Policy", "Cache-Control", "X-Content-Type-Options", "Referrer-Policy")


def encode(frame: dict) -> str:
    return json.dumps(frame, separators=(",", ":"), sort_keys=True)


class LyingServer:
    """Relays to the real server on `upstream_port`; `to_members` and `to_server` are rules
    `(member, frame) -> [frames]` (member is None before login); `sent` records what members sent."""

    def __init__(self, upstream_port: int, organisation_key: str):
        self.upstream = upstream_port
        self.to_members = lambda member, frame: [frame]
        self.to_server = lambda member, frame: [frame]
        self.sent = []
        self.links = []
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), daemon=True).start()
        ready.wait(10)
        self.url = f"http://127.0.0.1:{self.port}/"
        self.page = f"{self.url}#org={organisation_key}"

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)

        async def start():
            self.server = await serve(self._relay, "127.0.0.1", 0, process_request=self._http, max_size=1 << 20)
            self.port = self.server.sockets[0].getsockname()[1]
            ready.set()
            await self.server.serve_forever()

        self.loop.run_until_complete(start())

    async def _http(self, connection, request):
        """Everything but the WebSocket path is fetched from the real server and passed on."""
        if request.path == "/v1/ws":
            return None
        def fetch():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.upstream}{request.path}") as response:
                    return response.status, response.headers, response.read()
            except urllib.error.HTTPError as error:
                return error.code, error.headers, error.read()
        status, headers, body = await asyncio.to_thread(fetch)
        kept = Headers([(name, headers[name]) for name in PASSED_HEADERS if headers.get(name)] + [("Content-Length", str(len(body)))])
        return Response(status, "OK" if status == 200 else "Error", kept, body)

    async def _relay(self, client):
        link = {"member": None, "client": client}
        self.links.append(link)
        async with connect(f"ws://127.0.0.1:{self.upstream}/v1/ws", origin=Origin(f"http://127.0.0.1:{self.upstream}"),
                           max_size=1 << 20) as upstream:
            async def down():
                async for text in upstream:
                    for out in self._rewrite(self.to_members, link["member"], text):
                        await client.send(out)

            async def up():
                async for text in client:
                    frame = json.loads(text)
                    if frame.get("type") == "auth":
                        link["member"] = frame.get("member")
                    self.sent.append((link["member"], frame))
                    for out in self._rewrite(self.to_server, link["member"], text):
                        await upstream.send(out)

            tasks = [asyncio.ensure_future(down()), asyncio.ensure_future(up())]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                task.cancel()
        self.links.remove(link)

    @staticmethod
    def _rewrite(rule, member, text: str) -> list:
        frame = json.loads(text)
        return [text if out is frame else encode(out) for out in rule(member, frame)]

    def inject(self, frame: dict, member: str) -> None:
        """Sends a frame of the liar's own making to every connection of `member`."""
        async def send():
            for link in list(self.links):
                if link["member"] == member:
                    await link["client"].send(encode(frame))
        asyncio.run_coroutine_threadsafe(send(), self.loop).result(10)

    def bundles_sent(self) -> list:
        return [frame["bundle"] for _, frame in self.sent if frame.get("type") == "keyBundle"]

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
