"""What the process holds: aiogram's models built only when used, per-user structures that forget idle users."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

from aiogram.fsm.storage.base import StorageKey

from bot.isolation import ReleasingEventIsolation
from bot.ratelimit import SlidingWindow

CHECK_MODELS = r"""
import json, sys
import bot  # installs the deferred loading, as every entry point does
import aiogram.types as types, aiogram.methods as methods
from pydantic import BaseModel

models = [getattr(m, n) for m in (types, methods) for n in m.__all__]
models = [c for c in models if isinstance(c, type) and issubclass(c, BaseModel)]
built_at_import = sum(bool(c.__pydantic_complete__) for c in models)

def build(cls):  # the way pydantic builds a deferred model on first use (it needs a few frames of stack)
    return (lambda: (lambda: cls.__pydantic_validator__.validate_python)())()

broken = []
for cls in models:
    try:
        build(cls)
        if not cls.__pydantic_complete__:
            broken.append(cls.__name__)
    except Exception as exc:
        broken.append(f"{cls.__name__}: {exc}")
update = types.Update.model_validate({"update_id": 1, "message": {
    "message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"},
    "from": {"id": 1, "is_bot": False, "first_name": "Lan"}, "text": "Xin chào",
    "reply_markup": {"inline_keyboard": [[{"text": "Có", "callback_data": "y"}]]}}})
send = methods.SendMessage(chat_id=1, text="<b>x</b>", reply_markup=update.message.reply_markup)
print(json.dumps({"models": len(models), "built_at_import": built_at_import, "broken": broken,
                  "button": update.message.reply_markup.inline_keyboard[0][0].text,
                  "send": send.model_dump(exclude_none=True)["reply_markup"]["inline_keyboard"][0][0]["text"]}))
"""


def test_aiogram_models_are_built_on_first_use_and_every_one_still_builds():
    out = subprocess.run([sys.executable, "-c", CHECK_MODELS], capture_output=True, text=True, check=True).stdout
    result = json.loads(out)
    assert result["models"] > 500
    assert result["built_at_import"] < 10  # aiogram alone builds all of them at import
    assert result["broken"] == []
    assert result["button"] == result["send"] == "Có"


async def test_isolation_serialises_a_user_and_forgets_them_afterwards():
    isolation = ReleasingEventIsolation()
    key = StorageKey(bot_id=1, chat_id=5, user_id=5)
    order: list[str] = []

    async def handle(name: str, hold: float) -> None:
        async with isolation.lock(key):
            order.append(f"{name} in")
            await asyncio.sleep(hold)
            order.append(f"{name} out")

    first = asyncio.create_task(handle("a", 0.05))
    await asyncio.sleep(0)
    await asyncio.gather(first, handle("b", 0))
    assert order == ["a in", "a out", "b in", "b out"]
    assert len(isolation) == 0


def test_flood_limiter_forgets_people_idle_for_a_window():
    now = [0.0]
    limiter = SlidingWindow(limit=2, window=10, clock=lambda: now[0])
    for user in range(1000):
        assert limiter.hit(user)
    assert limiter.hit(1) and not limiter.hit(1) and limiter.should_warn(1)
    now[0] = 11.0
    assert limiter.hit(5000)
    assert set(limiter._hits) == {5000} and limiter._warned == {}
    assert limiter.hit(1)  # a forgotten person starts afresh


def test_start_up_objects_are_set_aside_and_collected_once_the_bot_has_settled():
    import gc
    import weakref

    from bot.app import YOUNG_COLLECTION_AFTER, resume_collection, settle_memory

    class Node:
        pass

    threshold = gc.get_threshold()
    gc.disable()  # as `python -m bot run` starts
    try:
        resume_collection()
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0  # start-up's objects are no longer walked by every collection
        cycle: list[object] = []
        cycle.append(cycle)
        gc.freeze()  # garbage made during start-up, set aside with the rest
        del cycle
        before = gc.get_freeze_count()
        settle_memory()
        assert gc.isenabled() and gc.get_freeze_count() < before  # the set-aside garbage was collected
        assert gc.get_threshold()[0] == YOUNG_COLLECTION_AFTER
        node = Node()
        node.itself = node  # type: ignore[attr-defined]
        left = weakref.ref(node)
        del node
        made = [[] for _ in range(2 * YOUNG_COLLECTION_AFTER)]  # what updates allocate meanwhile
        assert left() is None and made  # the collector, running less often, still gathers cycles by itself
    finally:
        gc.unfreeze()
        gc.enable()
        gc.set_threshold(*threshold)
