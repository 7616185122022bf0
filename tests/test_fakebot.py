"""Tests of the fake Telegram Bot API server (tests/fakebot)."""

from __future__ import annotations

import asyncio
import html
import json
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiogram import Bot, Dispatcher, F
from aiogram.client.default import DefaultBotProperties
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.filters import CommandStart
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)
from aiohttp import web

from tests.fakebot import NOT_MODIFIED, EntityParseError, FakeTelegram, parse_html

pytestmark = pytest.mark.asyncio





@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def call(
    http: aiohttp.ClientSession, fake: FakeTelegram, method: str, **params: Any
) -> tuple[int, dict[str, Any]]:
    """POST a JSON body straight to the fake, bypassing aiogram."""
    async with http.post(fake.api_url(method), json=params) as response:
        return response.status, await response.json()


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=text, callback_data=data)] for text, data in buttons]
    )


# =================================================================================================
# aiogram compatibility and transport
# =================================================================================================


async def test_aiogram_bot_round_trip(fake: FakeTelegram, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123456, True, "school_safety_bot")

    parent = fake.user(1001, first_name="Lan", language_code="vi")
    await parent.send("/start")
    sent = await bot.send_message(
        parent.id, "<b>Chào</b> Lan", parse_mode="HTML", reply_markup=keyboard(("Báo cáo", "report"))
    )
    assert sent.text == "Chào Lan"
    assert sent.from_user is not None and sent.from_user.id == me.id
    assert sent.chat.id == parent.id and sent.chat.type == "private"
    assert sent.entities is not None and sent.entities[0].type == "bold" and sent.entities[0].length == 4
    assert sent.reply_markup is not None
    assert sent.reply_markup.model_dump() == keyboard(("Báo cáo", "report")).model_dump()

    edited = await bot.edit_message_text(
        "Đã <i>sửa</i>", chat_id=parent.id, message_id=sent.message_id, parse_mode="HTML"
    )
    assert isinstance(edited, Message) and edited.text == "Đã sửa" and edited.edit_date is not None
    assert edited.reply_markup is None  # omitting reply_markup removes the keyboard, as on Telegram

    view = parent.last_message
    assert view is not None and view.html == "Đã <i>sửa</i>" and view.edits[0].text == "Đã sửa"
    assert view.history[0].source == "<b>Chào</b> Lan"

    await bot.edit_message_reply_markup(
        chat_id=parent.id, message_id=sent.message_id, reply_markup=keyboard(("OK", "ok"))
    )
    query_id = await parent.press(sent.message_id, "OK")
    assert await bot.answer_callback_query(query_id, text="Đã nhận", show_alert=True)
    answer = await parent.wait_for_callback_answer(query_id)
    assert (answer.text, answer.show_alert) == ("Đã nhận", True)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query_id)


async def test_transport_formats_and_protocol_errors(fake: FakeTelegram, http: aiohttp.ClientSession) -> None:
    fake.user(1001, started=True)
    base = f"{fake.base_url}/bot{fake.token}"

    async with http.get(f"{base}/sendMessage", params={"chat_id": "1001", "text": "query"}) as response:
        assert (await response.json())["result"]["text"] == "query"
    async with http.post(f"{base}/SENDMESSAGE", data={"chat_id": "1001", "text": "123"}) as response:
        body = await response.json()
        assert body["ok"] and body["result"]["text"] == "123"  # a numeric text stays a string
    status, body = await call(
        http,
        fake,
        "sendMessage",
        chat_id=1001,
        text="json",
        reply_markup={"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]},
    )
    assert status == 200 and body["result"]["reply_markup"]["inline_keyboard"][0][0]["text"] == "A"

    form = aiohttp.FormData()
    form.add_field("chat_id", "1001")
    form.add_field("caption", "<b>report</b>")
    form.add_field("parse_mode", "HTML")
    form.add_field("document", b"a,b\n1,2\n", filename="report.csv")
    async with http.post(f"{base}/sendDocument", data=form) as response:
        document = (await response.json())["result"]["document"]
    assert document["file_name"] == "report.csv" and document["mime_type"] == "text/csv"
    assert fake.file_bytes(document["file_id"]) == b"a,b\n1,2\n"

    async with http.post(f"{fake.base_url}/bot999:wrong/getMe") as response:
        assert response.status == 401
        assert await response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    status, body = await call(http, fake, "noSuchMethod")
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    assert fake.stats.requests["sendMessage"] == 3


async def test_files_round_trip_through_get_file(fake: FakeTelegram, bot: Bot) -> None:
    parent = fake.user(1001)
    sent = await parent.send_document("bao_cao.pdf", data=b"%PDF-1.7 content", caption="Báo cáo")
    update = sent.update["message"]
    assert update["document"]["file_name"] == "bao_cao.pdf" and update["caption"] == "Báo cáo"

    file = await bot.get_file(update["document"]["file_id"])
    assert file.file_path is not None and file.file_path.endswith(".pdf")
    downloaded = await bot.download_file(file.file_path)
    assert downloaded is not None and downloaded.read() == b"%PDF-1.7 content"

    big = await parent.send_document("video.zip", size=25 * 1024 * 1024)
    with pytest.raises(TelegramBadRequest, match="file is too big"):
        await bot.get_file(big.update["message"]["document"]["file_id"])
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_photo(parent.id, "no-such-file-id")

    photo = await bot.send_photo(
        parent.id, BufferedInputFile(b"\x89PNG fake", "chart.png"), caption="Biểu đồ"
    )
    assert photo.photo is not None and photo.caption == "Biểu đồ"
    assert fake.file_bytes(photo.photo[-1].file_id) == b"\x89PNG fake"
    resent = await bot.send_photo(parent.id, photo.photo[-1].file_id)
    assert resent.photo is not None and resent.photo[-1].file_id == photo.photo[-1].file_id


# =================================================================================================
# updates: long polling, confirmation, redelivery, webhook
# =================================================================================================


async def test_long_poll_waits_and_offset_confirms(fake: FakeTelegram, http: aiohttp.ClientSession) -> None:
    parent = fake.user(1001)
    poll = asyncio.create_task(call(http, fake, "getUpdates", timeout=5))
    await asyncio.sleep(0.1)
    assert not poll.done()  # nothing queued: the request is held open
    first = await parent.send("xin chào")
    status, body = await asyncio.wait_for(poll, 2)
    assert status == 200 and [u["update_id"] for u in body["result"]] == [first.update_id]
    assert body["result"][0]["message"]["from"]["id"] == 1001

    _, again = await call(http, fake, "getUpdates")
    assert [u["update_id"] for u in again["result"]] == [first.update_id]  # unconfirmed updates stay

    second = await parent.send("/help")
    assert second.update_id == first.update_id + 1
    _, body = await call(http, fake, "getUpdates", offset=first.update_id + 1)
    assert [u["update_id"] for u in body["result"]] == [second.update_id]
    assert fake.pending_updates == 1
    _, body = await call(http, fake, "getUpdates", offset=second.update_id + 1, limit=1)
    assert body["result"] == [] and fake.pending_updates == 0

    started = time.monotonic()
    _, body = await call(http, fake, "getUpdates", timeout=1)
    assert body["result"] == [] and time.monotonic() - started >= 0.9

    older = asyncio.create_task(call(http, fake, "getUpdates", timeout=5))
    await asyncio.sleep(0.05)
    await call(http, fake, "getUpdates")
    status, body = await asyncio.wait_for(older, 2)
    assert status == 409 and "terminated by other getUpdates request" in body["description"]


async def test_deliver_twice_redelivers_the_same_update_id(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    parent = fake.user(1001)
    sent = await parent.send("/start")
    fake.deliver_twice(sent)
    _, body = await call(http, fake, "getUpdates")
    assert [u["update_id"] for u in body["result"]] == [sent.update_id]
    _, body = await call(http, fake, "getUpdates", offset=sent.update_id + 1)
    assert [u["update_id"] for u in body["result"]] == [sent.update_id]  # despite the confirming offset
    _, body = await call(http, fake, "getUpdates", offset=sent.update_id + 1)
    assert body["result"] == [] and fake.pending_updates == 0

    raw = fake.queue_raw_update(
        {"message": {"message_id": 9, "date": 0, "chat": {"id": 5, "type": "private"}}}
    )
    assert raw["update_id"] == sent.update_id + 1


async def test_webhook_delivery_with_secret_and_retries(fake: FakeTelegram, bot: Bot) -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []

    async def endpoint(request: web.Request) -> web.Response:
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json()))
        if len(received) == 1:
            return web.Response(status=500)
        update = received[-1][1]
        # Answering with a method call in the response body, as aiogram's webhook handler can.
        return web.json_response(
            {"method": "sendMessage", "chat_id": update["message"]["chat"]["id"], "text": "pong"}
        )

    app = web.Application()
    app.router.add_post("/hook", endpoint)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    site = web.SockSite(runner, sock)
    await site.start()
    try:
        fake.webhook_retry_delay = 0.02
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
        assert await bot.set_webhook(url, secret_token="s3cr3t-token")
        with pytest.raises(TelegramConflictError, match="webhook is active"):
            await bot.get_updates()

        parent = fake.user(1001)
        sent = await parent.send("ping")
        reply = await parent.wait_for_message(lambda m: m.text == "pong")
        assert reply.chat_id == parent.id
        assert [secret for secret, _ in received] == ["s3cr3t-token", "s3cr3t-token"]
        assert [update["update_id"] for _, update in received] == [sent.update_id] * 2
        info = await bot.get_webhook_info()
        assert info.url == url and info.pending_update_count == 0
        assert info.last_error_message is not None and "500" in info.last_error_message

        assert await bot.delete_webhook()
        await parent.send("after")
        assert [u.message.text for u in await bot.get_updates() if u.message] == ["after"]
    finally:
        await runner.cleanup()


async def test_dispatcher_conversation_with_buttons(fake: FakeTelegram) -> None:
    """A real aiogram Dispatcher polling the fake: /start, keyboard, press, answer, edit."""
    bot = fake.create_bot(default=DefaultBotProperties(parse_mode="HTML"))
    dp = Dispatcher()

    @dp.message(CommandStart())
    async def on_start(message: Message) -> None:
        assert message.from_user is not None
        name = html.escape(message.from_user.first_name)
        await message.answer(f"Xin chào <b>{name}</b>!", reply_markup=keyboard(("📝 Báo cáo", "report")))

    @dp.callback_query(F.data == "report")
    async def on_report(query: CallbackQuery) -> None:
        await query.answer("Đã nhận")
        assert isinstance(query.message, Message)
        await query.message.edit_text("Cảm ơn <i>bạn</i>!")

    polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=1))
    try:
        parent = fake.user(1001, first_name="Lan <3", language_code="vi")
        await parent.send("/start abc")
        menu = await parent.wait_for_message(lambda m: "Xin chào" in m.text)
        assert menu.text == "Xin chào Lan <3!" and menu.html == "Xin chào <b>Lan &lt;3</b>!"
        assert menu.buttons == [("📝 Báo cáo", "report")]

        query_id = await parent.press(menu, "Báo cáo")
        assert (await parent.wait_for_callback_answer(query_id)).text == "Đã nhận"
        edited = await parent.wait_for_message(lambda m: m.is_edited)
        assert edited.message_id == menu.message_id and edited.text == "Cảm ơn bạn!" and edited.buttons == []
        assert menu.text == "Xin chào Lan <3!"  # views are snapshots of their version

        await fake.wait_idle()
        assert fake.pending_updates == 0
        assert fake.stats.sends_per_chat[parent.id] == 1
    finally:
        await dp.stop_polling()
        await polling


# =================================================================================================
# validation
# =================================================================================================


@pytest.mark.parametrize(
    ("markup", "text", "entity_types"),
    [
        (
            "<b>bold</b> <i>it</i> <u>u</u> <s>s</s>",
            "bold it u s",
            ["bold", "italic", "underline", "strikethrough"],
        ),
        ('<a href="https://x.vn/?a=1&amp;b=2">link</a>', "link", ["text_link"]),
        ('<pre><code class="language-python">x = 1</code></pre>', "x = 1", ["pre"]),
        (
            "<blockquote expandable>q</blockquote><tg-spoiler>s</tg-spoiler>",
            "qs",
            ["expandable_blockquote", "spoiler"],
        ),
        ('<span class="tg-spoiler">s</span> &lt;&gt;&amp;&quot;&#39;&#x1F600;', "s <>&\"'😀", ["spoiler"]),
        ("<b>a<i>b</i></b>", "ab", ["bold", "italic"]),
    ],
)
async def test_html_parser_accepts_telegram_markup(markup: str, text: str, entity_types: list[str]) -> None:
    parsed = parse_html(markup)
    assert parsed.text == text
    assert [entity["type"] for entity in parsed.entities] == entity_types


@pytest.mark.parametrize(
    ("markup", "error"),
    [
        ("Tom & Jerry", "Character '&' is reserved"),
        ("&nbsp;", "Character '&' is reserved"),
        ("<p>x</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("ả<b", "Unclosed start tag at byte offset 3"),
        ('<span class="x">y</span>', 'Tag "span" must have class "tg-spoiler"'),
    ],
)
async def test_html_parser_rejects_bad_markup(markup: str, error: str) -> None:
    with pytest.raises(EntityParseError, match=error.replace("(", r"\(")):
        parse_html(markup)


async def test_send_rejects_bad_html_and_counts_length_after_parsing(fake: FakeTelegram, bot: Bot) -> None:
    fake.user(1001, started=True)
    with pytest.raises(TelegramBadRequest, match="can't parse entities: Character '&' is reserved"):
        await bot.send_message(1001, "Điểm A & B", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match='can\'t parse entities: Unsupported start tag "br"'):
        await bot.send_message(1001, "a<br>b", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="Can't find end tag"):
        await bot.send_message(1001, "<b>unclosed", parse_mode="HTML")

    # 4096 characters after parsing: tags and escapes are free.
    exact = "<b>" + "&amp;" * 96 + "</b>" + "x" * 4000
    sent = await bot.send_message(1001, exact, parse_mode="HTML")
    assert sent.text is not None and len(sent.text) == 4096
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(1001, exact + "y", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(1001, "<b> </b>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_photo(1001, BufferedInputFile(b"img", "a.jpg"), caption="c" * 1025)
    assert (await bot.send_message(1001, "A & B <not html>")).text == "A & B <not html>"
    assert fake.stats.statuses[400] == 6


async def test_callback_data_limit_is_64_utf8_bytes(fake: FakeTelegram, bot: Bot) -> None:
    fake.user(1001, started=True)
    fits = "ả" * 21 + "a"  # 3 * 21 + 1 = 64 bytes, 22 characters
    sent = await bot.send_message(1001, "ok", reply_markup=keyboard(("Chọn", fits)))
    assert sent.reply_markup is not None
    too_long = "ả" * 22  # 66 bytes although only 22 characters
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(1001, "no", reply_markup=keyboard(("Chọn", too_long)))
    assert len(fake.user(1001).messages) == 1


async def test_edit_errors(fake: FakeTelegram, bot: Bot) -> None:
    parent = fake.user(1001)
    own = await parent.send("my message")
    sent = await bot.send_message(
        parent.id, "<b>Hi</b>", parse_mode="HTML", reply_markup=keyboard(("A", "a"))
    )
    with pytest.raises(TelegramBadRequest) as not_modified:
        await bot.edit_message_text(
            "<b>Hi</b>",
            chat_id=parent.id,
            message_id=sent.message_id,
            parse_mode="HTML",
            reply_markup=keyboard(("A", "a")),
        )
    assert not_modified.value.message == f"Bad Request: {NOT_MODIFIED}"
    # Same text but different formatting is a modification.
    await bot.edit_message_text(
        "Hi", chat_id=parent.id, message_id=sent.message_id, reply_markup=keyboard(("A", "a"))
    )
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(
            chat_id=parent.id, message_id=sent.message_id, reply_markup=keyboard(("A", "a"))
        )
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=parent.id, message_id=999)
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await bot.edit_message_text("x", chat_id=parent.id, message_id=own.message_id or 0)
    assert await bot.delete_message(parent.id, sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(parent.id, sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=parent.id, message_id=sent.message_id)
    assert parent.messages == [] and len(parent.deleted_messages) == 1


# =================================================================================================
# chats, access and fault injection
# =================================================================================================


async def test_chat_access_rules(fake: FakeTelegram, bot: Bot) -> None:
    stranger = fake.user(2002)
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(stranger.id, "hi")  # never pressed /start
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(-100999, "hi")
    fake.user(3003, started=True)
    assert (await bot.send_message(3003, "registered")).chat.id == 3003

    await stranger.send("/start")
    fake.block(stranger.id)
    with pytest.raises(TelegramForbiddenError, match="Forbidden: bot was blocked by the user"):
        await bot.send_message(stranger.id, "hi")
    fake.unblock(stranger.id)
    await bot.send_message(stranger.id, "hi again")

    update = await stranger.block_bot()
    assert update.update["my_chat_member"]["new_chat_member"]["status"] == "kicked"
    with pytest.raises(TelegramForbiddenError):
        await bot.send_chat_action(stranger.id, "typing")

    chat = await bot.get_chat(3003)
    assert chat.id == 3003 and chat.type == "private"
    group = fake.group(-100123, title="BGH THCS Ngọc Sơn")
    teacher = fake.user(1001, first_name="Hà")
    group.add_member(teacher, "administrator")
    member = await bot.get_chat_member(group.id, teacher.id)
    assert member.status == "administrator"
    assert (await bot.get_chat_member(group.id, stranger.id)).status == "left"
    assert (await bot.get_chat_member(group.id, fake.bot_id)).status == "administrator"
    fake.block(group.id)
    with pytest.raises(TelegramForbiddenError, match="bot was kicked from the supergroup chat"):
        await bot.send_message(group.id, "x")


async def test_rate_limit_answers_429_with_retry_after(fake: FakeTelegram, bot: Bot) -> None:
    fake.user(1001, started=True)
    fake.rate_limit(per_second=2)
    await bot.send_message(1001, "1")
    await bot.send_message(1001, "2")
    with pytest.raises(TelegramRetryAfter) as exc_info:
        await bot.send_message(1001, "3")
    assert exc_info.value.retry_after >= 1 and isinstance(exc_info.value.retry_after, int)
    assert "Too Many Requests: retry after" in exc_info.value.message
    assert fake.stats.too_many_requests == 1
    await bot.send_chat_action(1001, "typing")  # chat actions are not throttled

    fake.rate_limit()
    fake.fail_next("sendMessage", status=429, retry_after=7)
    with pytest.raises(TelegramRetryAfter) as exc_info:
        await bot.send_message(1001, "4")
    assert exc_info.value.retry_after == 7 and fake.stats.too_many_requests == 2
    assert fake.stats.sends_per_chat[1001] == 2

    fake.user(1002, started=True)
    fake.rate_limit(per_chat_per_minute=1)
    await bot.send_message(1001, "a")
    await bot.send_message(1002, "b")  # other chats are not affected
    with pytest.raises(TelegramRetryAfter) as exc_info:
        await bot.send_message(1001, "c")
    assert 59 <= exc_info.value.retry_after <= 60


async def test_injected_server_errors(fake: FakeTelegram, bot: Bot) -> None:
    parent = fake.user(1001, started=True)
    fake.fail_next("sendMessage", 2, status=502)
    for _ in range(2):
        with pytest.raises(TelegramServerError, match="Bad Gateway"):
            await bot.send_message(1001, "x")
    assert parent.messages == []

    fake.fail_next("sendmessage", status=500, after_effect=True)
    with pytest.raises(TelegramServerError):
        await bot.send_message(1001, "delivered, answer lost")
    assert [m.text for m in parent.messages] == ["delivered, answer lost"]

    fake.seed(7)
    fake.failure_rate = 0.5
    outcomes = []
    for index in range(20):
        try:
            await bot.send_message(1001, f"m{index}")
            outcomes.append(True)
        except TelegramServerError:
            outcomes.append(False)
    assert 0 < outcomes.count(False) < 20
    assert fake.stats.server_errors == 3 + outcomes.count(False)
    await bot.get_me()  # non-send methods never fail randomly

    fake.reset_faults()
    fake.slow(0.2)
    started = time.monotonic()
    await bot.send_message(1001, "slow")
    assert time.monotonic() - started >= 0.2
    fake.slow(0)

    fake.disconnect_next("sendMessage")
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(1001, "never delivered")
    fake.disconnect_next("sendMessage", after_effect=True)
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(1001, "delivered, connection lost")
    assert parent.messages[-1].text == "delivered, connection lost"
    assert [call.status for call in fake.calls_to("sendMessage")[-2:]] == [0, 0]


# =================================================================================================
# simulated users, groups, topics
# =================================================================================================


async def test_user_message_kinds_and_albums(fake: FakeTelegram, bot: Bot) -> None:
    parent = fake.user(1001, first_name="Lan", language_code="vi")
    contact = await parent.send_contact(phone="+84912345678")
    assert contact.update["message"]["contact"] == {
        "phone_number": "+84912345678",
        "first_name": "Lan",
        "user_id": 1001,
    }
    album = await parent.send_album(n=3, kind="photo", caption="Ảnh hiện trường")
    messages = [sent.update["message"] for sent in album]
    assert len({m["media_group_id"] for m in messages}) == 1 and len({s.update_id for s in album}) == 3
    assert [m.get("caption") for m in messages] == ["Ảnh hiện trường", None, None]
    forwarded = await parent.forward("tin nhắn", origin="hidden_user", sender_name="Ẩn danh")
    assert forwarded.update["message"]["forward_origin"]["type"] == "hidden_user"
    for sent in (
        await parent.send_sticker(),
        await parent.send_voice(),
        await parent.send_location(),
        await parent.send_video(),
        await parent.send_photo("x"),
    ):
        assert sent.update["message"]["from"]["id"] == 1001

    updates = await bot.get_updates()  # aiogram parses every kind
    assert [u.message.content_type for u in updates if u.message] == [
        "contact",
        "photo",
        "photo",
        "photo",
        "text",
        "sticker",
        "voice",
        "location",
        "video",
        "photo",
    ]
    assert updates[4].message is not None and updates[4].message.forward_origin is not None

    sent_album = await bot.send_media_group(
        parent.id,
        [
            InputMediaPhoto(media=BufferedInputFile(b"a", "a.jpg"), caption="<b>1</b>", parse_mode="HTML"),
            InputMediaPhoto(media=BufferedInputFile(b"b", "b.jpg")),
        ],
    )
    assert len({m.media_group_id for m in sent_album}) == 1 and sent_album[0].caption == "1"
    with pytest.raises(TelegramBadRequest):
        await bot.send_media_group(parent.id, [InputMediaPhoto(media=BufferedInputFile(b"a", "a.jpg"))])


async def test_wait_for_message_reads_the_chat_as_a_stream(fake: FakeTelegram, bot: Bot) -> None:
    parent = fake.user(1001, started=True)
    await bot.send_message(parent.id, "one")
    await bot.send_message(parent.id, "two")
    assert (await parent.wait_for_message()).text == "one"  # sent before the wait: still found
    assert (await parent.wait_for_message(lambda m: m.text == "two")).text == "two"
    await parent.assert_no_message(within=0.05)
    with pytest.raises(AssertionError, match="no matching bot message"):
        await parent.wait_for_message(lambda m: m.text == "one", timeout=0.05)  # already consumed

    later = asyncio.create_task(parent.wait_for_message(lambda m: "three" in m.text))
    await asyncio.sleep(0)
    await bot.send_chat_action(parent.id, "typing")
    await bot.send_message(parent.id, "three")
    assert (await later).text == "three"
    assert parent.chat_actions == ["typing"]


async def test_reply_keyboard_request_contact(fake: FakeTelegram, bot: Bot) -> None:
    parent = fake.user(1001, started=True, phone="+84900000001")
    markup = ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text="📱 Chia sẻ số điện thoại", request_contact=True)],
            [KeyboardButton(text="Hủy")],
        ],
        one_time_keyboard=True,
    )
    sent = await bot.send_message(parent.id, "Vui lòng chia sẻ số", reply_markup=markup)
    assert sent.reply_markup is None  # reply keyboards are not echoed in Message
    assert parent.last_message is not None and parent.last_message.keyboard == [
        "📱 Chia sẻ số điện thoại",
        "Hủy",
    ]
    shared = await parent.tap_reply_button("Chia sẻ")
    assert shared.update["message"]["contact"]["phone_number"] == "+84900000001"
    assert parent.reply_keyboard is None  # one-time keyboard hidden after use


async def test_group_forum_topics(fake: FakeTelegram, bot: Bot) -> None:
    group = fake.group(-100123, title="BGH THCS Ngọc Sơn", is_forum=True)
    teacher = fake.user(1001, first_name="Hà")
    bind = await group.send(teacher, "/bind@school_safety_bot")
    assert bind.update["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 23}]
    assert bind.update["message"]["chat"]["is_forum"] is True

    topic = await bot.create_forum_topic(group.id, "Lớp 6A")
    assert group.topic("Lớp 6A").thread_id == topic.message_thread_id
    posted = await bot.send_message(group.id, "Chào lớp 6A", message_thread_id=topic.message_thread_id)
    assert posted.message_thread_id == topic.message_thread_id and posted.is_topic_message
    in_topic = await group.wait_for_message(thread_id=topic.message_thread_id)
    assert in_topic.text == "Chào lớp 6A"

    await group.send(teacher, "trong chủ đề", thread_id=topic.message_thread_id)
    assert await bot.edit_forum_topic(group.id, topic.message_thread_id, name="Lớp 6A1")
    assert group.topics[0].name == "Lớp 6A1"
    assert await bot.delete_forum_topic(group.id, topic.message_thread_id)
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(group.id, "x", message_thread_id=topic.message_thread_id)

    group.limit_topics(2, per_seconds=60)
    await bot.create_forum_topic(group.id, "Lớp 7A")
    await bot.create_forum_topic(group.id, "Lớp 7B")
    with pytest.raises(TelegramRetryAfter) as exc_info:
        await bot.create_forum_topic(group.id, "Lớp 7C")
    assert exc_info.value.retry_after >= 1
    assert "Too Many Requests: retry after" in exc_info.value.message

    plain = fake.group(-100456, title="Plain")
    with pytest.raises(TelegramBadRequest, match="the chat is not a forum"):
        await bot.create_forum_topic(plain.id, "x")


async def test_copy_forward_and_commands(fake: FakeTelegram, bot: Bot) -> None:
    parent = fake.user(1001)
    group = fake.group(-100123, title="BGH")
    report = await parent.send_photo("Sự cố ở cổng trường")
    copied = await bot.copy_message(
        group.id, parent.id, report.message_id or 0, caption="<b>Báo cáo</b>", parse_mode="HTML"
    )
    copy = group.last_message
    assert copy is not None and copy.message_id == copied.message_id
    assert copy.kind == "photo" and copy.text == "Báo cáo" and copy.html == "<b>Báo cáo</b>"
    forwarded = await bot.forward_message(group.id, parent.id, report.message_id or 0)
    assert forwarded.forward_origin is not None and forwarded.forward_origin.type == "user"
    with pytest.raises(TelegramBadRequest, match="message to copy not found"):
        await bot.copy_message(group.id, parent.id, 999)

    await bot.set_my_commands([BotCommand(command="start", description="Bắt đầu")])
    await bot.set_my_commands(
        [BotCommand(command="bind", description="Liên kết nhóm")],
        scope=BotCommandScopeChat(chat_id=group.id),
        language_code="vi",
    )
    assert [c.command for c in await bot.get_my_commands()] == ["start"]
    assert await bot.get_my_commands(language_code="vi") == []
    assert fake.commands({"type": "chat", "chat_id": group.id}, "vi") == [
        {"command": "bind", "description": "Liên kết nhóm"}
    ]
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad-Command", description="x")])
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == []
    assert json.loads(json.dumps(fake.calls[-1].params)) == {}
