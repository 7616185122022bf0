"""Request parameter decoding for the fake Bot API.

Telegram accepts the same parameters as a query string, an urlencoded form,
multipart/form-data (with file uploads) or a JSON body. In the form flavours
every value is a string and structured values (``reply_markup``, ``entities``,
``media``) are JSON-encoded strings; in the JSON flavour they are native. The
:class:`Params` accessors hide that difference by coercing per *field type*
(never guessing from the value), so a text of ``"123"`` stays a string while a
``chat_id`` of ``"123"`` becomes an int.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.web_request import FileField

from .errors import ApiError, bad_request


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytes


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


class Params:
    """Typed, read-only view over one request's parameters."""

    def __init__(
        self, values: dict[str, Any] | None = None, files: dict[str, UploadedFile] | None = None
    ) -> None:
        self._values: dict[str, Any] = dict(values or {})
        self._files: dict[str, UploadedFile] = dict(files or {})

    @classmethod
    async def from_request(cls, request: web.Request) -> Params:
        """Merge the query string with a JSON, urlencoded or multipart body."""
        values: dict[str, Any] = dict(request.query)
        files: dict[str, UploadedFile] = {}
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError as exc:
                    raise bad_request("can't parse JSON body") from exc
                if not isinstance(body, dict):
                    raise bad_request("can't parse JSON body: an object is expected")
                values.update(body)
            elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, FileField):
                        files[key] = UploadedFile(key, value.filename, value.content_type, value.file.read())
                    elif isinstance(value, bytes):
                        values[key] = value.decode("utf-8", errors="replace")
                    else:
                        values[key] = value
        return cls(values, files)

    # -- generic -------------------------------------------------------------------------------

    def has(self, name: str) -> bool:
        """True when the parameter was sent with a non-empty value (Telegram treats "" as absent)."""
        if name in self._files:
            return True
        value = self._values.get(name)
        return value is not None and value != ""

    def raw(self, name: str) -> Any:
        return self._values.get(name)

    def snapshot(self) -> dict[str, Any]:
        """A JSON-friendly copy for the request log; uploads are summarised, not copied."""
        data: dict[str, Any] = {}
        for key, value in self._values.items():
            data[key] = self._decode_json_if_structured(value)
        for key, upload in self._files.items():
            data[key] = f"<upload {upload.filename or key!s} {len(upload.data)} bytes>"
        return data

    @staticmethod
    def _decode_json_if_structured(value: Any) -> Any:
        if isinstance(value, str) and value[:1] in ("{", "["):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    # -- typed accessors -----------------------------------------------------------------------

    def get_str(self, name: str, *, missing: str | None = None) -> str | None:
        """A string field. ``missing`` is the error detail to raise when it is absent."""
        value = self._values.get(name)
        if value is None or value == "":
            if missing is not None:
                raise bad_request(missing)
            return None
        if isinstance(value, (dict, list)):
            raise bad_request(f'field "{name}" must be of type String')
        return value if isinstance(value, str) else json.dumps(value)

    def get_int(self, name: str, *, missing: str | None = None) -> int | None:
        value = self._values.get(name)
        if value is None or value == "":
            if missing is not None:
                raise bad_request(missing)
            return None
        if isinstance(value, bool):
            raise bad_request(f'field "{name}" must be of type Integer')
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise bad_request(f'field "{name}" must be of type Integer')

    def get_float(self, name: str) -> float | None:
        value = self._values.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError) as exc:
            raise bad_request(f'field "{name}" must be of type Float') from exc

    def get_bool(self, name: str, default: bool = False) -> bool:
        value = self._values.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return value != 0
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise bad_request(f'field "{name}" must be of type Boolean')

    def get_json(self, name: str, *, what: str | None = None) -> Any:
        """A structured field: native in JSON bodies, a JSON string in forms."""
        value = self._values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError as exc:
                raise bad_request(f"can't parse {what or name} JSON object") from exc
        return value

    def chat_id(self, name: str = "chat_id") -> int | str:
        """An ``Integer or String`` chat identifier: a number or ``@username``."""
        value = self._values.get(name)
        if value is None or value == "":
            raise bad_request(f"{name} is empty")
        if isinstance(value, bool):
            raise chat_not_found_error()
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if text.startswith("@"):
            return text
        try:
            return int(text)
        except ValueError as exc:
            raise chat_not_found_error() from exc

    def get_file(self, name: str) -> UploadedFile | str | None:
        """An ``InputFile or String`` field: an upload, ``attach://<part>``, a file_id or an URL."""
        if name in self._files:
            return self._files[name]
        value = self.get_str(name)
        if value is None:
            return None
        return self.resolve_attach(value)

    def resolve_attach(self, value: str) -> UploadedFile | str:
        """Resolve ``attach://<part>`` references (used by aiogram for every upload)."""
        if value.startswith("attach://"):
            part = value[len("attach://") :]
            upload = self._files.get(part)
            if upload is None:
                raise bad_request(f'file "{part}" was not found among the uploaded parts')
            return upload
        return value


def chat_not_found_error() -> ApiError:
    return bad_request("chat not found")
