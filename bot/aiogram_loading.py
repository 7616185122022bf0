"""Load aiogram without building the whole Bot API up front.

aiogram declares its 400-odd types `defer_build=True`, then `aiogram/types/__init__.py` calls
`model_rebuild()` on every one of them, and its ~190 API methods are built as their classes are created.
pydantic therefore compiles a validator and serializer for the entire Bot API at import: on our 2-core
machine `import aiogram` took 1.9 s and 170 MB, above the whole start-up budget (bench B4: ≤ 2 s, ≤ 150 MB),
and the bot uses a few dozen of those models.

`install()` hooks the import of two aiogram modules, before anything imports aiogram:
- `aiogram.types`: its rebuild loop is turned into what the loop is for, making every type's forward
  references resolvable. The names are put into each type's module namespace, where pydantic looks when a
  deferred model is first used; nothing is compiled until then.
- `aiogram.methods.base`: `TelegramMethod` gets `defer_build=True`, so each method is compiled on first use.
Measured: `import aiogram` 0.37 s and 62 MB. Building all 591 models lazily afterwards still works (the test
suite checks every one), so a model we have not used yet is only slower the first time, never broken.

If aiogram changes the shape of its loop, the hook falls through to pydantic's own `model_rebuild` and aiogram
loads exactly as before, only slower. No aiogram import happens here: domain code that never touches aiogram
pays nothing.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

TYPES_PACKAGE = "aiogram.types"
METHODS_BASE = "aiogram.methods.base"


def _share_types_namespace(original: Callable[..., Any]) -> classmethod:  # type: ignore[type-arg]
    """A stand-in for `BaseModel.model_rebuild` while `aiogram/types/__init__.py` runs its loop."""

    def model_rebuild(cls: Any, *, _types_namespace: Any = None, **kwargs: Any) -> bool | None:
        if _types_namespace is None or not cls.__module__.startswith(TYPES_PACKAGE + "."):
            return original(cls, _types_namespace=_types_namespace, **kwargs)
        module = vars(sys.modules[cls.__module__])
        for name, value in _types_namespace.items():
            module.setdefault(name, value)
        return None

    return classmethod(model_rebuild)


def _exec_types(exec_module: Callable[[ModuleType], None]) -> Callable[[ModuleType], None]:
    def run(module: ModuleType) -> None:
        from pydantic import BaseModel

        original = BaseModel.__dict__["model_rebuild"]
        BaseModel.model_rebuild = _share_types_namespace(original.__func__)  # type: ignore[method-assign]
        try:
            exec_module(module)
        finally:
            BaseModel.model_rebuild = original  # type: ignore[method-assign]

    return run


def _exec_methods_base(exec_module: Callable[[ModuleType], None]) -> Callable[[ModuleType], None]:
    def run(module: ModuleType) -> None:
        exec_module(module)
        module.TelegramMethod.model_config["defer_build"] = True

    return run


_WRAPPERS = {TYPES_PACKAGE: _exec_types, METHODS_BASE: _exec_methods_base}


class _DeferredBuild(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> Any:
        wrap = _WRAPPERS.get(fullname)
        if wrap is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader.exec_module = wrap(spec.loader.exec_module)  # type: ignore[method-assign]
        return spec


def build_shared() -> None:
    """Build `Message` before anything that contains it. pydantic reuses a built model's schema inside the
    models that contain it, but compiles a deferred one afresh inside each of them. The first poll, its first
    reply and the first `Update` each compiled `Message` again: 0.50 s of start-up on the slow VM, 0.16 s
    when `Message` comes first (bench B4)."""
    from aiogram.types import Message

    Message.model_rebuild()


def install() -> None:
    """Idempotent; a no-op once aiogram has been imported (it is then too late, and harmless)."""
    if TYPES_PACKAGE in sys.modules or any(isinstance(f, _DeferredBuild) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _DeferredBuild())
