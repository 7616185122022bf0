"""``FakeTelegram``: an in-process Telegram Bot API emulator for end-to-end tests.

The bot under test talks to it over real HTTP (in the test process via
``TelegramAPIServer.from_base(fake.base_url)``, or from a subprocess via
``TELEGRAM_API_URL``), so the whole client stack - aiogram, sessions, retry
and outbox logic - is exercised. The test side drives simulated users and
groups in-process (see :mod:`.sim`) and injects faults at runtime.

Fault injection applies per method category (see :class:`.methods.Kind`):

========================  =================================================
knob                      applies to
========================  =================================================
``fail_next(method)``     that method only, before anything else
``failure_rate``          SEND, EDIT and ACTION methods (sendX, copyMessage,
                          forwardMessage, editMessageX, sendChatAction)
``rate_limit(...)``       SEND and EDIT methods
``slow(seconds)``         SEND and EDIT methods
``block(chat_id)``        every method that writes to the chat (403)
========================  =================================================
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import socket
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

import aiohttp
from aiohttp import web

from .errors import ApiError, not_found, server_error, too_many_requests, unauthorized
from .methods import METHODS, Kind, MethodSpec, command_key
from .params import Params
from .sim import GroupSim, SentUpdate, UserSim
from .state import BotState, ChatState, FakeStats, PendingUpdate, RateLimiter, WebhookState

if TYPE_CHECKING:
    from aiogram import Bot

FLAKY_KINDS = frozenset({Kind.SEND, Kind.EDIT, Kind.ACTION})
THROTTLED_KINDS = frozenset({Kind.SEND, Kind.EDIT})
MAX_UPLOAD_SIZE = 50 * 1024 * 1024


@dataclass(frozen=True)
class ApiCall:
    """One request the bot made, for assertions (``fake.calls``)."""

    method: str
    params: dict[str, Any]
    status: int
    """HTTP status of the answer; 0 when the connection was dropped (``disconnect_next``)."""
    result: Any = None
    error: str | None = None
    started_at: float = 0.0
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass
class _InjectedFailure:
    status: int
    description: str | None
    retry_after: int | None
    after_effect: bool
    disconnect: bool

    def trigger(self) -> NoReturn:
        if self.disconnect:
            raise _ConnectionDropped
        raise self.error()

    def error(self) -> ApiError:
        if self.status == 429:
            return too_many_requests(self.retry_after or 1)
        if self.status >= 500:
            return server_error(self.status, self.description)
        return ApiError(self.status, self.description or "Bad Request")


class _ConnectionDropped(Exception):
    """Internal: answer the request by dropping the connection."""


@dataclass
class _Outcome:
    status: int
    """HTTP status; 0 when the connection is dropped instead of answered."""
    body: dict[str, Any]


@dataclass
class _Throttle:
    per_chat_per_minute: int | None = None
    global_limiter: RateLimiter | None = None
    chat_limiters: dict[str, RateLimiter] = field(default_factory=dict)


class FakeTelegram:
    """A fake Telegram Bot API server bound to ``127.0.0.1`` on a free port.

    Usage::

        async with FakeTelegram(token="123456:TEST-token", bot_username="school_safety_bot") as fake:
            bot = fake.create_bot()          # or run the bot with TELEGRAM_API_URL=fake.base_url
            parent = fake.user(1001, first_name="Lan")
            await parent.send("/start")
            ...
    """

    def __init__(
        self,
        token: str = "123456:TEST-token",
        *,
        bot_username: str = "test_bot",
        bot_first_name: str = "Test Bot",
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        bot_id, _, secret = token.partition(":")
        if not bot_id.isdigit() or not secret:
            raise ValueError("token must look like '<bot id>:<secret>'")
        self.token = token
        self.bot_id = int(bot_id)
        self.bot_username = bot_username
        self.host = host
        self._requested_port = port
        self.bot_user: dict[str, Any] = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.stats = FakeStats()
        self.state = BotState(bot_user=self.bot_user, stats=self.stats, clock=clock)
        self.calls: list[ApiCall] = []
        self.webhook_retry_delay = 0.1
        """Seconds between webhook delivery attempts after a failure."""
        self.webhook_timeout = 10.0
        self._users: dict[int, UserSim] = {}
        self._groups: dict[int, GroupSim] = {}
        self._failures: dict[str, deque[_InjectedFailure]] = {}
        self._failure_rate = 0.0
        self._rng = random.Random(0)
        self._throttle = _Throttle()
        self._delay = 0.0
        self._inflight = 0
        self._last_activity = 0.0
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._http: aiohttp.ClientSession | None = None

    # =============================================================================================
    # lifecycle
    # =============================================================================================

    async def start(self) -> FakeTelegram:
        """Start serving; returns ``self`` so ``fake = await FakeTelegram().start()`` works."""
        if self._runner is not None:
            raise RuntimeError("FakeTelegram is already running")
        app = web.Application(client_max_size=MAX_UPLOAD_SIZE + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._requested_port))
        site = web.SockSite(runner, sock)
        await site.start()
        self._runner = runner
        self._port = sock.getsockname()[1]
        self.state.closing = False
        self._http = aiohttp.ClientSession()
        self._last_activity = time.monotonic()
        self._webhook_task = asyncio.create_task(self._webhook_loop(), name="fakebot-webhook")
        return self

    async def stop(self) -> None:
        """Release pending long polls, stop webhook delivery and close the server."""
        if self._runner is None:
            return
        self.state.closing = True
        self.state.signal.fire()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        if self._http is not None:
            await self._http.close()
            self._http = None
        await self._runner.cleanup()
        self._runner = None
        self._port = None

    async def __aenter__(self) -> FakeTelegram:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeTelegram is not running; await fake.start() first")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: pass to ``TelegramAPIServer.from_base`` or ``TELEGRAM_API_URL``."""
        return f"http://{self.host}:{self.port}"

    def api_url(self, method: str) -> str:
        return f"{self.base_url}/bot{self.token}/{method}"

    def create_bot(self, **kwargs: Any) -> Bot:
        """An aiogram ``Bot`` pointed at this server. Close it with ``await bot.session.close()``.

        Keyword arguments go to ``Bot`` (e.g. ``default=DefaultBotProperties(parse_mode="HTML")``).
        """
        from aiogram import Bot
        from aiogram.client.telegram import TelegramAPIServer

        from .aiogram_session import LoopbackSession

        session = LoopbackSession(api=TelegramAPIServer.from_base(self.base_url))
        return Bot(self.token, session=session, **kwargs)

    # =============================================================================================
    # HTTP
    # =============================================================================================

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            self.stats.statuses[401] += 1
            return _json_response(unauthorized())
        try:
            params = await Params.from_request(request)
        except ApiError as exc:
            self.stats.statuses[exc.error_code] += 1
            return _json_response(exc)
        outcome = await self.execute(request.match_info["method"], params)
        if outcome.status == 0 and request.transport is not None:
            # A lost answer: the client sees the connection drop (aiohttp skips writing to it).
            request.transport.abort()
        return web.json_response(outcome.body, status=outcome.status or 500)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _json_response(unauthorized())
        stored = self.state.files.by_path(request.match_info["path"])
        if stored is None:
            return _json_response(not_found())
        return web.Response(
            body=stored.content(), content_type=stored.mime_type or "application/octet-stream"
        )

    async def execute(self, method: str, params: Params) -> _Outcome:
        """Run one API call through fault injection, throttling and the handler, recording stats."""
        spec = METHODS.get(method.lower())
        name = spec.name if spec else method
        self.stats.requests[name] += 1
        started = time.monotonic()
        tracked = spec is None or spec.kind != Kind.POLL
        if tracked:
            self._inflight += 1
            self._last_activity = started
        try:
            if spec is None:
                raise not_found()
            outcome = _Outcome(200, {"ok": True, "result": await self._run(spec, params)})
        except ApiError as exc:
            outcome = _Outcome(exc.error_code, exc.to_json())
        except _ConnectionDropped:
            outcome = _Outcome(0, {"description": "connection dropped"})
        finally:
            if tracked:
                self._inflight -= 1
                self._last_activity = time.monotonic()
        if outcome.status:
            self.stats.statuses[outcome.status] += 1
        self.calls.append(
            ApiCall(
                method=name,
                params=params.snapshot(),
                status=outcome.status,
                result=outcome.body.get("result"),
                error=outcome.body.get("description") if outcome.status != 200 else None,
                started_at=started,
                duration=time.monotonic() - started,
            )
        )
        self.state.signal.fire()
        return outcome

    async def _run(self, spec: MethodSpec, params: Params) -> Any:
        failure = self._pop_failure(spec.name)
        if failure is not None and not failure.after_effect:
            failure.trigger()
        if spec.kind in FLAKY_KINDS and self._failure_rate and self._rng.random() < self._failure_rate:
            raise server_error(self._rng.choice((500, 502)))
        if spec.kind in THROTTLED_KINDS:
            if self._delay:
                await asyncio.sleep(self._delay)
            self._check_rate_limit(params)
        try:
            result = await spec.handler(self.state, params)
        except ApiError:
            if failure is None:
                raise
            result = None
        if failure is not None:  # after_effect: the call took effect, but its answer is lost
            failure.trigger()
        return result

    def _pop_failure(self, method: str) -> _InjectedFailure | None:
        queue = self._failures.get(method.lower())
        if not queue:
            return None
        failure = queue.popleft()
        if not queue:
            del self._failures[method.lower()]
        return failure

    def _check_rate_limit(self, params: Params) -> None:
        throttle = self._throttle
        limiters = [throttle.global_limiter] if throttle.global_limiter else []
        if throttle.per_chat_per_minute is not None and params.has("chat_id"):
            key = str(params.raw("chat_id"))
            limiter = throttle.chat_limiters.get(key)
            if limiter is None:
                limiter = throttle.chat_limiters[key] = RateLimiter(throttle.per_chat_per_minute, 60.0)
            limiters.append(limiter)
        waits = [wait for limiter in limiters if (wait := limiter.check()) is not None]
        if waits:
            raise too_many_requests(math.ceil(max(waits)))
        for limiter in limiters:
            limiter.take()

    # =============================================================================================
    # webhook delivery
    # =============================================================================================

    def _webhook_candidate(self) -> PendingUpdate | None:
        if self.state.closing or not self.state.webhook.url:
            return None
        ready = self.state.updates.peek(1, self.state.allowed_updates)
        return ready[0] if ready else None

    async def _webhook_loop(self) -> None:
        """Deliver queued updates one at a time, in order, retrying until the endpoint answers 2xx."""
        while not self.state.closing:
            try:
                item = await self.state.signal.wait_for(self._webhook_candidate, 60.0)
            except TimeoutError:
                continue
            webhook = self.state.webhook
            if await self._post_update(webhook, item):
                self.state.updates.handed_out([item])
                self.state.updates.remove(item)
                self.state.signal.fire()
            else:
                await asyncio.sleep(self.webhook_retry_delay)

    async def _post_update(self, webhook: WebhookState, item: PendingUpdate) -> bool:
        assert self._http is not None
        headers = {"X-Telegram-Bot-Api-Secret-Token": webhook.secret_token} if webhook.secret_token else {}
        try:
            async with self._http.post(
                webhook.url,
                json=item.update,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.webhook_timeout),
            ) as response:
                body = await response.read()
                if not 200 <= response.status < 300:
                    self._webhook_error(
                        webhook, f"Wrong response from the webhook: {response.status} {response.reason}"
                    )
                    return False
        except (aiohttp.ClientError, TimeoutError) as exc:
            self._webhook_error(webhook, f"Connection failed: {type(exc).__name__}: {exc}")
            return False
        await self._run_webhook_reply(body)
        return True

    def _webhook_error(self, webhook: WebhookState, message: str) -> None:
        webhook.last_error_date = self.state.now()
        webhook.last_error_message = message

    async def _run_webhook_reply(self, body: bytes) -> None:
        """Execute a method returned in the webhook response body, as Telegram does (errors are dropped)."""
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            return
        if isinstance(payload, dict) and isinstance(payload.get("method"), str):
            values = {key: value for key, value in payload.items() if key != "method"}
            await self.execute(payload["method"], Params(values))

    # =============================================================================================
    # simulated world
    # =============================================================================================

    def user(
        self,
        user_id: int,
        first_name: str | None = None,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        is_premium: bool | None = None,
        phone: str | None = None,
        started: bool = False,
    ) -> UserSim:
        """Get or create a simulated user (and their private chat with the bot).

        The bot can only write to the user after the user wrote to it (any
        ``send*``), unless ``started=True`` registers the chat up front.
        Calling again with the same id returns the same simulator.
        """
        existing = self._users.get(user_id)
        if existing is not None:
            if started:
                existing.chat_state.started = True
            return existing
        if user_id <= 0:
            raise ValueError("user ids are positive")
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name or f"User{user_id}"}
        if last_name is not None:
            user["last_name"] = last_name
        if username is not None:
            user["username"] = username
        if language_code is not None:
            user["language_code"] = language_code
        if is_premium:
            user["is_premium"] = True
        chat = self.state.chats.get(user_id)
        if chat is None:
            chat = ChatState(id=user_id, type="private")
            self.state.chats[user_id] = chat
        chat.first_name = user["first_name"]
        chat.last_name = last_name
        chat.username = username
        chat.started = chat.started or started
        self.state.users[user_id] = user
        sim = UserSim(self, user, chat, phone or f"+8490{user_id % 10_000_000:07d}")
        self._users[user_id] = sim
        return sim

    def group(
        self,
        chat_id: int,
        title: str = "Test group",
        *,
        is_forum: bool = False,
        username: str | None = None,
        chat_type: str = "supergroup",
        bot_status: str = "administrator",
    ) -> GroupSim:
        """Get or create a group the bot is in (an administrator by default, so it may manage topics)."""
        existing = self._groups.get(chat_id)
        if existing is not None:
            return existing
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        if chat_type not in ("group", "supergroup"):
            raise ValueError("chat_type must be 'group' or 'supergroup'")
        if is_forum and chat_type != "supergroup":
            raise ValueError("only supergroups can be forums")
        chat = ChatState(
            id=chat_id,
            type=chat_type,
            title=title,
            username=username,
            is_forum=is_forum,
            bot_status=bot_status,
        )
        self.state.chats[chat_id] = chat
        sim = GroupSim(self, chat)
        self._groups[chat_id] = sim
        return sim

    def chat(self, chat_id: int) -> ChatState:
        """Raw state of a known chat (messages, topics, flags)."""
        chat = self.state.chats.get(chat_id)
        if chat is None:
            raise KeyError(f"unknown chat {chat_id}; create it with fake.user() or fake.group() first")
        return chat

    # =============================================================================================
    # updates
    # =============================================================================================

    def queue_raw_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an arbitrary update; ``update_id`` is assigned unless present. Returns the queued update."""
        return self.state.queue_update(dict(update))

    def deliver_twice(self, update: dict[str, Any] | SentUpdate) -> dict[str, Any]:
        """Make Telegram redeliver an update with the *same* ``update_id``.

        The update is queued if it is not already, and a copy is handed out
        once more after the original was delivered - even if the bot
        already confirmed it - to exercise idempotent update handling.
        """
        raw = update.update if isinstance(update, SentUpdate) else update
        if "update_id" not in raw or not self._known_update(int(raw["update_id"])):
            raw = self.state.queue_update(dict(raw))
        self.state.updates.push_redelivery(raw)
        self.state.signal.fire()
        return raw

    def _known_update(self, update_id: int) -> bool:
        return any(update["update_id"] == update_id for update in self.state.updates.history)

    @property
    def pending_updates(self) -> int:
        """Queued updates the bot has not confirmed yet (or the webhook has not accepted)."""
        return len(self.state.updates)

    @property
    def updates_history(self) -> list[dict[str, Any]]:
        """Every update ever queued, in order."""
        return list(self.state.updates.history)

    async def wait_idle(self, timeout: float = 5.0, *, settle: float = 0.05) -> None:
        """Wait until every update was confirmed and the bot has been quiet for ``settle`` seconds.

        "Quiet" means: no API request other than getUpdates in flight, and
        for ``settle`` seconds no request finished and no update was handed
        out or confirmed. ``settle`` must exceed the longest pause the bot
        makes between receiving an update and its next API call (e.g. slow
        database work), otherwise this may return before the bot reacted.
        """

        def idle() -> bool | None:
            if self.pending_updates or self._inflight:
                return None
            last = max(self._last_activity, self.state.updates.changed_at)
            return True if time.monotonic() - last >= settle else None

        try:
            await self.state.signal.wait_for(idle, timeout, poll=max(settle / 2, 0.005))
        except TimeoutError:
            raise AssertionError(
                f"bot not idle after {timeout}s: {self.pending_updates} pending updates, "
                f"{self._inflight} requests in flight"
            ) from None

    async def wait_for_call(
        self, method: str, predicate: Callable[[ApiCall], bool] | None = None, timeout: float = 5.0
    ) -> ApiCall:
        """Wait for the bot to call ``method`` (answered with any status); checks past calls too."""
        wanted = method.lower()

        def find() -> ApiCall | None:
            for call in self.calls:
                if call.method.lower() == wanted and (predicate is None or predicate(call)):
                    return call
            return None

        try:
            return await self.state.signal.wait_for(find, timeout)
        except TimeoutError:
            raise AssertionError(f"the bot did not call {method} within {timeout}s") from None

    def calls_to(self, method: str) -> list[ApiCall]:
        """Recorded calls of one method (any spelling), in order."""
        wanted = method.lower()
        return [call for call in self.calls if call.method.lower() == wanted]

    # =============================================================================================
    # fault injection
    # =============================================================================================

    def fail_next(
        self,
        method: str,
        n: int = 1,
        status: int = 500,
        *,
        description: str | None = None,
        retry_after: int | None = None,
        after_effect: bool = False,
    ) -> None:
        """Answer the next ``n`` calls of ``method`` with an error.

        ``status=429`` answers a flood wait with ``retry_after``. With
        ``after_effect=True`` the call is executed first and only its answer
        is replaced - the "sent, but the client saw an error" case that
        duplicates messages in naive retry logic.
        """
        self._queue_failure(
            method, n, _InjectedFailure(status, description, retry_after, after_effect, False)
        )

    def disconnect_next(self, method: str, n: int = 1, *, after_effect: bool = False) -> None:
        """Drop the connection instead of answering the next ``n`` calls of ``method``."""
        self._queue_failure(method, n, _InjectedFailure(0, None, None, after_effect, True))

    def _queue_failure(self, method: str, n: int, failure: _InjectedFailure) -> None:
        if method.lower() not in METHODS:
            raise ValueError(f"unknown Bot API method {method!r}")
        queue = self._failures.setdefault(method.lower(), deque())
        queue.extend(_InjectedFailure(**vars(failure)) for _ in range(n))

    @property
    def failure_rate(self) -> float:
        """Probability of a random 500/502 on SEND, EDIT and ACTION methods (use :meth:`seed`)."""
        return self._failure_rate

    @failure_rate.setter
    def failure_rate(self, value: float) -> None:
        if not 0.0 <= value <= 1.0:
            raise ValueError("failure_rate must be within [0, 1]")
        self._failure_rate = value

    def seed(self, value: int) -> None:
        """Seed the RNG behind ``failure_rate`` for reproducible runs."""
        self._rng = random.Random(value)

    def rate_limit(self, per_second: int | None = None, *, per_chat_per_minute: int | None = None) -> None:
        """Throttle SEND and EDIT methods; excess calls get 429 with ``retry_after`` (whole seconds >= 1).

        ``per_second`` limits all chats together (Telegram: ~30/s),
        ``per_chat_per_minute`` each chat separately (Telegram: ~20/min in
        groups). ``rate_limit()`` with no arguments removes the limits.
        """
        self._throttle = _Throttle(
            per_chat_per_minute=per_chat_per_minute,
            global_limiter=RateLimiter(per_second, 1.0) if per_second else None,
        )

    def slow(self, seconds: float) -> None:
        """Delay every SEND and EDIT call by ``seconds`` (0 turns it off)."""
        self._delay = max(0.0, seconds)

    def block(self, chat_id: int) -> None:
        """The user blocked the bot (403 "bot was blocked by the user"); for groups: the bot was kicked."""
        self.chat(chat_id).blocked = True

    def unblock(self, chat_id: int) -> None:
        """Undo :meth:`block`."""
        self.chat(chat_id).blocked = False

    @property
    def strict_html_ampersand(self) -> bool:
        """Reject a raw ``&`` in HTML (default ``True``; real Telegram tolerates a lone ``&``)."""
        return self.state.strict_html_ampersand

    @strict_html_ampersand.setter
    def strict_html_ampersand(self, value: bool) -> None:
        self.state.strict_html_ampersand = value

    @property
    def callback_query_ttl(self) -> float | None:
        """Seconds after which answerCallbackQuery answers "query is too old" (default: never)."""
        return self.state.callback_query_ttl

    @callback_query_ttl.setter
    def callback_query_ttl(self, value: float | None) -> None:
        self.state.callback_query_ttl = value

    def reset_faults(self) -> None:
        """Remove every injected failure, rate limit and delay (blocks stay)."""
        self._failures.clear()
        self._failure_rate = 0.0
        self._throttle = _Throttle()
        self._delay = 0.0

    # =============================================================================================
    # inspection helpers
    # =============================================================================================

    def commands(self, scope: dict[str, Any] | None = None, language_code: str = "") -> list[dict[str, str]]:
        """Commands the bot registered for a scope/language (what getMyCommands would answer)."""
        return [dict(c) for c in self.state.commands.get(command_key(self.state, scope, language_code), [])]

    @property
    def webhook(self) -> WebhookState:
        return self.state.webhook

    def file_bytes(self, file_id: str) -> bytes:
        """Content of a file the bot uploaded (or a simulated user sent)."""
        stored = self.state.files.get(file_id)
        if stored is None:
            raise KeyError(f"unknown file_id {file_id!r}")
        return stored.content()


def _json_response(error: ApiError) -> web.Response:
    return web.json_response(error.to_json(), status=error.error_code)
