"""Copies of evidence files in EVIDENCE_DIR, with their SHA-256, made after the case is saved.

Why not in the handler, as before: downloading (getFile, then up to 20 MB) while the reporter's update was
being handled kept that update's transaction open, and on SQLite the pool's only connection, for as long
as Telegram took; every other reporter waited. Copying only the files of confirmed cases also keeps nothing
of a report the person abandoned or cancelled: a leaked class list someone decided not to send stays with
Telegram alone.

Channel-agnostic: the caller passes `fetch(file_id, destination)`, which raises `Unavailable` for a file that
can never be fetched (too big, unknown id); any other error is a passing failure, retried with back-off.
A copy is written beside its final name and renamed once complete, so a file under EVIDENCE_DIR is always
whole; a copier stopped mid-download leaves its lease to run out and the file is fetched again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import mimetypes
import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

from storage import evidence
from storage.db import Database
from storage.evidence import CopyJob
from storage.models import utcnow

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
FIRST_RETRY = timedelta(seconds=30)  # then ×4: 30 s, 2 min, 8 min, 32 min
LEASE = timedelta(minutes=10)  # longer than FETCH_TIMEOUT: a live copier always finishes within its lease
FETCH_TIMEOUT = 300.0
BATCH = 10
POLL_SECONDS = 5.0
_SAFE = re.compile(r"[^A-Za-z0-9_-]")
_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,8}")

Fetch = Callable[[str, Path], Awaitable[None]]


class Unavailable(Exception):
    """The file can never be fetched; giving up at once is right."""


def copy_path(folder: Path, job: CopyJob) -> Path:
    """`<folder>/<case code>/<position>-<Telegram's unique id><suffix>`: stable across attempts and
    instances, readable by whoever looks for a case's files, and never built from the reporter's file name
    beyond a plain suffix."""
    name = _SAFE.sub("_", job.file_unique_id or job.file_id[-24:])
    return folder / _SAFE.sub("_", job.case_code) / f"{job.position + 1:02d}-{name}{_suffix(job)}"


def _suffix(job: CopyJob) -> str:
    suffix = Path(job.file_name or "").suffix.lower()
    if _SUFFIX.fullmatch(suffix):
        return suffix
    guessed = mimetypes.guess_extension(job.mime_type or "") if job.mime_type else None
    return guessed or (".jpg" if job.file_name is None and job.mime_type is None else "")


def next_attempt(job: CopyJob, now: datetime) -> datetime | None:
    """When to try again after a passing failure, or None once MAX_ATTEMPTS have been made."""
    if job.attempt >= MAX_ATTEMPTS:
        return None
    return now + FIRST_RETRY * 4 ** (job.attempt - 1)


def _private_folder(folder: Path) -> None:
    """Evidence is often a child's personal data: only the bot's own user may read the copies."""
    folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.mkdir(mode=0o700, exist_ok=True)


def _seal(partial: Path, target: Path) -> str:
    """Make the downloaded file private and give it its final name; returns its SHA-256."""
    partial.chmod(0o600)
    digest = sha256_of(partial)
    partial.replace(target)
    return digest


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class EvidenceCopier:
    """Claims due files a few at a time, downloads each outside any transaction, records the outcome."""

    def __init__(self, db: Database, fetch: Fetch, folder: Path, *, poll: float = POLL_SECONDS,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.fetch = fetch
        self.folder = folder
        self.poll = poll
        self.clock = clock
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """A case was saved: look now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                while await self.copy_due():
                    pass
            except Exception:
                log.exception("evidence copies: a round failed; will retry")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll)

    async def copy_due(self) -> int:
        """One round: claim up to BATCH due files and copy them one by one; returns how many were claimed."""
        async with self.db.session() as session:
            jobs = await evidence.claim(session, now=self.clock(), limit=BATCH, lease=LEASE)
        for job in jobs:
            await self._copy(job)
        return len(jobs)

    async def _copy(self, job: CopyJob) -> None:
        target = copy_path(self.folder, job)
        partial = target.with_name(target.name + ".part")
        try:
            await asyncio.to_thread(_private_folder, target.parent)
            async with asyncio.timeout(FETCH_TIMEOUT):
                await self.fetch(job.file_id, partial)
            digest = await asyncio.to_thread(_seal, partial, target)
        except Unavailable as exc:
            log.warning("evidence copies: case %s item %d cannot be fetched (%s); kept by its Telegram id only",
                        job.case_code, job.position + 1, exc)
            await self._retry_at(job, None)
        except Exception as exc:
            due = next_attempt(job, self.clock())
            log.warning("evidence copies: case %s item %d, attempt %d failed (%r)%s", job.case_code,
                        job.position + 1, job.attempt, exc, "" if due else "; giving up")
            await self._retry_at(job, due)
        else:
            async with self.db.session() as session:
                await evidence.copied(session, job.id, sha256=digest, local_path=str(target))
        finally:
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)

    async def _retry_at(self, job: CopyJob, due: datetime | None) -> None:
        async with self.db.session() as session:
            await evidence.retry_at(session, job.id, due)
