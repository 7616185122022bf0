"""Copies of evidence files (EVIDENCE_DIR): made from Telegram after the case is saved, whole, hashed, once,
and retried or given up sensibly when Telegram fails."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot import evidence_copies
from bot.drafts import Draft, EvidenceItem
from bot.evidence_copies import EvidenceCopier, Unavailable
from bot.reports import submit
from bot.telegram_sender import file_fetcher
from storage.models import Case, Evidence, utcnow
from tests.factories import make_tree

SCAM = {"platform": "zalo", "pretended": "school", "asked_for": ["money"], "money_sent": "no",
        "when": {"period": "today", "date": None}}
SCREENSHOT = b"\xff\xd8\xff\xe0 screenshot of the fake fee notice"
LETTER = b"%PDF-1.7 the forged letter"


class Died(BaseException):
    """The process going away mid-download: not an error the copier handles, nothing after it runs."""


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):  # type: ignore[no-untyped-def]
        return self.now


async def _case(db, settings, items: list[EvidenceItem], *, copy_files: bool = True) -> Case:  # type: ignore[no-untyped-def]
    tree = await make_tree(db)
    draft = Draft.new(tree["ns"].id, tree["ns"].name, utcnow(), role="parent")
    draft.type, draft.answers, draft.evidence = "scam", dict(SCAM), items
    async with db.session() as session:
        submitted = await submit(session, draft, 6001, locale="vi", now=utcnow(), tz=settings.tz, leak_threshold=50,
                                 copy_files=copy_files)
    return submitted.case


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


async def _rows(db) -> list[Evidence]:  # type: ignore[no-untyped-def]
    async with db.session() as session:
        return list(await session.scalars(select(Evidence).order_by(Evidence.position)))


async def _uploaded(fake) -> list[EvidenceItem]:  # type: ignore[no-untyped-def]
    """A photo and a PDF as a parent sends them, and a link (nothing to download)."""
    parent = fake.user(6001)
    photo = (await parent.send_photo(data=SCREENSHOT)).update["message"]["photo"][-1]
    document = (await parent.send_document("thu-gia.pdf", data=LETTER)).update["message"]["document"]
    return [EvidenceItem("photo", photo["file_id"], photo["file_unique_id"]),
            EvidenceItem("document", document["file_id"], document["file_unique_id"], "thu-gia.pdf", "application/pdf"),
            EvidenceItem("link", text="https://hocphi-gia.vn")]


async def test_files_of_a_saved_case_are_copied_whole_with_their_hash(db, settings, fake, bot, tmp_path: Path) -> None:
    case = await _case(db, settings, await _uploaded(fake))
    copier = EvidenceCopier(db, file_fetcher(bot), tmp_path / "evidence")

    assert await copier.copy_due() == 2, "the photo and the PDF; a link has nothing to download"
    photo, document, link = await _rows(db)
    assert await asyncio.to_thread(Path(photo.local_path).read_bytes) == SCREENSHOT
    assert await asyncio.to_thread(Path(document.local_path).read_bytes) == LETTER
    assert photo.sha256 == hashlib.sha256(SCREENSHOT).hexdigest()
    assert document.sha256 == hashlib.sha256(LETTER).hexdigest()
    assert Path(document.local_path) == tmp_path / "evidence" / case.code / f"02-{document.file_unique_id}.pdf"
    assert Path(photo.local_path).suffix == ".jpg"
    assert (link.local_path, link.copy_due_at, link.copy_attempts) == (None, None, 0)
    assert [p.name for p in (tmp_path / "evidence" / case.code).iterdir() if p.suffix == ".part"] == []
    assert _mode(tmp_path / "evidence" / case.code) == 0o700
    assert _mode(Path(photo.local_path)) == 0o600, "a child's data: readable by the bot only"

    assert await copier.copy_due() == 0, "copied once, not again"
    assert len(fake.calls_to("getFile")) == 2


async def test_nothing_is_queued_without_evidence_dir(db, settings, fake, bot, tmp_path: Path) -> None:
    await _case(db, settings, await _uploaded(fake), copy_files=False)
    assert await EvidenceCopier(db, file_fetcher(bot), tmp_path).copy_due() == 0
    assert not fake.calls_to("getFile")


async def test_a_passing_failure_is_retried_later_and_given_up_after_the_last_attempt(db, settings, tmp_path) -> None:
    await _case(db, settings, [EvidenceItem("photo", "photo-1", "p1")])
    clock, attempts = Clock(), []

    async def flaky(file_id: str, destination: Path) -> None:
        attempts.append(clock.now)
        await asyncio.to_thread(destination.write_bytes, b"half a fi")
        raise ConnectionResetError("connection reset by peer")

    folder = tmp_path / "evidence"
    copier = EvidenceCopier(db, flaky, folder, clock=clock)
    assert await copier.copy_due() == 1
    (row,) = await _rows(db)
    assert row.copy_due_at == clock.now + evidence_copies.FIRST_RETRY and row.copy_attempts == 1
    assert await copier.copy_due() == 0, "not before its time"
    for _ in range(evidence_copies.MAX_ATTEMPTS - 1):
        clock.now += timedelta(hours=1)
        assert await copier.copy_due() == 1
    (row,) = await _rows(db)
    assert len(attempts) == evidence_copies.MAX_ATTEMPTS
    assert (row.copy_due_at, row.local_path, row.file_id) == (None, None, "photo-1"), "given up, the file id kept"
    assert list(folder.rglob("*")) == [folder / "KA-NS-26-0001"], "no partial file left behind"
    clock.now += timedelta(days=1)
    assert await copier.copy_due() == 0


async def test_a_file_telegram_will_never_give_is_given_up_at_once(db, settings, fake, bot, tmp_path) -> None:
    parent = fake.user(6001)
    big = (await parent.send_document("video.zip", size=25 * 1024 * 1024)).update["message"]["document"]
    await _case(db, settings, [EvidenceItem("document", big["file_id"], big["file_unique_id"], "video.zip")])

    copier = EvidenceCopier(db, file_fetcher(bot), tmp_path)
    assert await copier.copy_due() == 1
    (row,) = await _rows(db)
    assert (row.copy_due_at, row.copy_attempts, row.local_path) == (None, 1, None)
    assert len(fake.calls_to("getFile")) == 1


async def test_a_copier_that_died_mid_download_leaves_the_file_to_another_after_its_lease(db, settings, tmp_path):
    await _case(db, settings, [EvidenceItem("photo", "photo-1", "p1")])
    clock = Clock()

    async def dies(file_id: str, destination: Path) -> None:
        raise Died

    async def works(file_id: str, destination: Path) -> None:
        await asyncio.to_thread(destination.write_bytes, SCREENSHOT)

    try:
        await EvidenceCopier(db, dies, tmp_path, clock=clock).copy_due()
    except Died:
        pass
    other = EvidenceCopier(db, works, tmp_path, clock=clock)
    assert await other.copy_due() == 0, "the first copier still holds the lease"
    clock.now += evidence_copies.LEASE + timedelta(seconds=1)
    assert await other.copy_due() == 1
    (row,) = await _rows(db)
    assert row.sha256 == hashlib.sha256(SCREENSHOT).hexdigest() and row.copy_attempts == 2


async def test_unavailable_from_any_fetch_gives_up(db, settings, tmp_path) -> None:
    await _case(db, settings, [EvidenceItem("video", "video-1", "v1", "clip.mp4", "video/mp4")])

    async def gone(file_id: str, destination: Path) -> None:
        raise Unavailable("Bad Request: invalid file_id")

    assert await EvidenceCopier(db, gone, tmp_path).copy_due() == 1
    assert await EvidenceCopier(db, gone, tmp_path).copy_due() == 0


def test_a_copy_is_named_by_case_position_and_telegram_id_never_by_the_senders_file_name() -> None:
    from storage.evidence import CopyJob

    job = CopyJob(1, 1, "KA-NS-26-0001", 0, "BQACAgUAAx", "AgAD/../x", "../../etc/passwd.sh;rm -rf", None, 1)
    path = evidence_copies.copy_path(Path("/srv/evidence"), job)
    assert path.parent == Path("/srv/evidence/KA-NS-26-0001")
    assert path.name == "01-AgAD____x", path.name
    pdf = CopyJob(1, 1, "KA-NS-26-0001", 2, "id", "u", "Thư mời họp.PDF", "application/pdf", 1)
    assert evidence_copies.copy_path(Path("/e"), pdf).name == "03-u.pdf"
    video = CopyJob(1, 1, "KA-NS-26-0001", 3, "id", "u", None, "video/mp4", 1)
    assert evidence_copies.copy_path(Path("/e"), video).name == "04-u.mp4"
