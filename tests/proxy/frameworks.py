"""Bot endpoints built with real frameworks, each serving on 127.0.0.1 from its own thread and event loop.

Each one first points the bot's webhook at itself through the (stand-in) Bot API, the way an owner's
bot runs before it is connected to BotPresto.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any


class _LoopThread:
    """Runs ``main(ready, stop)`` in a fresh event loop on a thread until stop() is called."""

    def __init__(self, main: Callable[[asyncio.Event, asyncio.Event], Awaitable[None]]) -> None:
        self._main = main
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        if not self._ready.wait(timeout) or self.error is not None:
            raise RuntimeError(f"the endpoint did not start: {self.error!r}")

    def _run(self) -> None:
        async def body() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            ready = asyncio.Event()
            task = asyncio.create_task(self._main(ready, self._stop))
            waiter = asyncio.create_task(ready.wait())
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
            self._ready.set()
            await task

        try:
            asyncio.run(body())
        except BaseException as exc:
            self.error = exc
            self._ready.set()

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def aiogram_endpoint(api_url: str, token: str, secret: str) -> Iterator[dict[str, Any]]:
    """An aiogram bot answering each text message with a multipart webhook reply (a sendMessage)."""
    from aiogram import Bot, Dispatcher
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import Message
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler
    from aiohttp import web

    info: dict[str, Any] = {"bodies": []}

    async def main(ready: asyncio.Event, stop: asyncio.Event) -> None:
        bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api_url, is_local=False)))
        dispatcher = Dispatcher()

        @dispatcher.message()
        async def echo(message: Message) -> Any:
            return message.answer(f"echo: {message.text}")  # not awaited: it goes back in the webhook reply

        @web.middleware
        async def record(request: web.Request, handler: Any) -> web.StreamResponse:
            info["bodies"].append(await request.read())
            return await handler(request)

        app = web.Application(middlewares=[record])
        SimpleRequestHandler(dispatcher, bot, handle_in_background=False, secret_token=secret).register(
            app, path="/aiogram"
        )
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        info["url"] = f"http://127.0.0.1:{port}/aiogram"
        await bot.set_webhook(info["url"], secret_token=secret)
        ready.set()
        await stop.wait()
        await runner.cleanup()
        await bot.session.close()

    loop = _LoopThread(main)
    loop.start()
    try:
        yield info
    finally:
        loop.stop()


@contextlib.contextmanager
def ptb_endpoint(api_url: str, token: str, secret: str) -> Iterator[dict[str, Any]]:
    """A python-telegram-bot application on its own webhook server, answering with sendMessage calls."""
    from telegram import Update
    from telegram.ext import Application, ContextTypes, MessageHandler, filters

    info: dict[str, Any] = {"texts": []}
    port = free_port()
    info["url"] = f"http://127.0.0.1:{port}/ptb"

    async def main(ready: asyncio.Event, stop: asyncio.Event) -> None:
        application = Application.builder().token(token).base_url(f"{api_url}/bot").build()

        async def reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            assert update.message is not None
            info["texts"].append(update.message.text)
            await update.message.reply_text(f"ptb: {update.message.text}")

        application.add_handler(MessageHandler(filters.TEXT, reply))
        await application.initialize()
        assert application.updater is not None
        await application.updater.start_webhook(
            listen="127.0.0.1", port=port, url_path="ptb", secret_token=secret, webhook_url=info["url"]
        )
        await application.start()
        ready.set()
        await stop.wait()
        await application.updater.stop()
        await application.stop()
        await application.shutdown()

    loop = _LoopThread(main)
    loop.start()
    try:
        yield info
    finally:
        loop.stop()
