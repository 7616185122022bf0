"""An aiogram session tuned for talking to the fake over loopback HTTP."""

from __future__ import annotations

from aiogram.client.session.aiohttp import AiohttpSession


class LoopbackSession(AiohttpSession):
    """``AiohttpSession`` without the 250 ms grace period on ``close()``.

    aiogram sleeps after closing so that SSL transports can shut down
    cleanly; plain HTTP on 127.0.0.1 has nothing to wait for, and the sleep
    would add a quarter second to every test that creates a bot.
    """

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
