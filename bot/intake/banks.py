"""Banks and e-wallets as scammers name them, so "VCB", "vietcombank" and "Ngân hàng Ngoại thương"
give one canonical code and a parent's lookup finds an account reported under another spelling.

Codes are the short codes of the VietQR bank list (VCB, ICB, BIDV, VBA, …); wallets use their brand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from .textnorm import fold_words


@dataclass(frozen=True, slots=True)
class Bank:
    code: str
    name: str
    aliases: tuple[str, ...]  # folded words, matched as whole words


def _nh(name: str) -> tuple[str, str]:
    """A descriptive name ("a chau") is only a bank after "ngân hàng"/"NH": alone it is ordinary words."""
    return (f"ngan hang {name}", f"nh {name}")


BANKS: tuple[Bank, ...] = (
    Bank("VCB", "Vietcombank", ("vietcombank", "vietcom bank", "vietcom", "vcb", *_nh("ngoai thuong"))),
    Bank(
        "ICB",
        "VietinBank",
        ("vietinbank", "viettinbank", "vietin bank", "vietin", "ctg", "icb", *_nh("cong thuong")),
    ),
    Bank("BIDV", "BIDV", ("bidv", *_nh("dau tu va phat trien"))),
    Bank("VBA", "Agribank", ("agribank", "agri bank", "agri", "vba", *_nh("nong nghiep"))),
    Bank("TCB", "Techcombank", ("techcombank", "techcom bank", "techcom", "tcb", *_nh("ky thuong"))),
    Bank("MB", "MB Bank", ("mbbank", "mb bank", "mbb", "mb", *_nh("quan doi"))),
    Bank("ACB", "ACB", ("acb", *_nh("a chau"))),
    Bank("VPB", "VPBank", ("vpbank", "vp bank", "vpb", *_nh("thinh vuong"))),
    Bank("TPB", "TPBank", ("tpbank", "tp bank", "tpb", *_nh("tien phong"))),
    Bank("STB", "Sacombank", ("sacombank", "sacom bank", "sacom", "stb", *_nh("sai gon thuong tin"))),
    Bank("SHB", "SHB", ("shb", *_nh("sai gon ha noi"))),
    Bank("HDB", "HDBank", ("hdbank", "hd bank", "hdb")),
    Bank("VIB", "VIB", ("vib", *_nh("quoc te"))),
    Bank("OCB", "OCB", ("ocb", *_nh("phuong dong"))),
    Bank("MSB", "MSB", ("msb", "maritime bank", "maritimebank", *_nh("hang hai"))),
    Bank("SEAB", "SeABank", ("seabank", "sea bank", "seab", *_nh("dong nam a"))),
    Bank("EIB", "Eximbank", ("eximbank", "exim bank", "exim", "eib", *_nh("xuat nhap khau"))),
    Bank(
        "LPB",
        "LPBank",
        (
            "lpbank",
            "lp bank",
            "lpb",
            "lienvietpostbank",
            "lienviet post bank",
            "lien viet post bank",
            "lienviet",
            *_nh("lien viet"),
            *_nh("buu dien lien viet"),
            *_nh("loc phat"),
        ),
    ),
    Bank("NAB", "Nam A Bank", ("nam a bank", "namabank", "nama bank", *_nh("nam a"), "nab")),
    Bank("BAB", "Bac A Bank", ("bac a bank", "bacabank", "baca bank", *_nh("bac a"), "bab")),
    Bank("SCB", "SCB", ("scb", *_nh("sai gon"))),
    Bank("PVCB", "PVcomBank", ("pvcombank", "pvcom bank", "pvcom", "pvcb", *_nh("dai chung"))),
    Bank("KLB", "KienlongBank", ("kienlongbank", "kienlong bank", *_nh("kien long"), "kienlong", "klb")),
    Bank("ABB", "ABBANK", ("abbank", "ab bank", "abb", *_nh("an binh"))),
    Bank("VCCB", "BVBank", ("bvbank", "bv bank", "viet capital", "vietcapital", *_nh("ban viet"), "vccb")),
    Bank("VAB", "VietABank", ("vietabank", "viet a bank", *_nh("viet a"), "vab")),
    Bank("NCB", "NCB", ("ncb", *_nh("quoc dan"))),
    Bank("PGB", "PGBank", ("pgbank", "pg bank", "pgb", *_nh("thinh vuong va phat trien"))),
    Bank("BVB", "BaoViet Bank", ("baovietbank", "bao viet bank", "baoviet bank", *_nh("bao viet"))),
    Bank("VBB", "Vietbank", ("vietbank", "viet bank", "vbb", *_nh("viet nam thuong tin"))),
    Bank("SGICB", "Saigonbank", ("saigonbank", "saigon bank", "sgicb", *_nh("sai gon cong thuong"))),
    Bank("CAKE", "Cake by VPBank", ("cake",)),
    Bank("TIMO", "Timo", ("timo",)),
    Bank("MOMO", "Ví MoMo", ("momo", "vi momo")),
    Bank("ZALOPAY", "ZaloPay", ("zalopay", "zalo pay")),
    Bank("VIETTELMONEY", "Viettel Money", ("viettel money", "viettelmoney", "viettelpay", "viettel pay")),
    Bank("SHOPEEPAY", "ShopeePay", ("shopeepay", "shopee pay")),
    Bank("VNPTMONEY", "VNPT Money", ("vnpt money", "vnptmoney", "vnpt pay")),
)

BANKS_BY_CODE: dict[str, Bank] = {bank.code: bank for bank in BANKS}


@cache
def _alias_pattern() -> re.Pattern[str]:
    """One regex over every alias, longest first, so "mb bank" wins over "mb", "nam a bank" over "nam a"."""
    aliases = sorted({alias for bank in BANKS for alias in bank.aliases}, key=len, reverse=True)
    return re.compile(r"(?<![0-9a-z])(" + "|".join(re.escape(a) for a in aliases) + r")(?![0-9a-z])")


@cache
def _alias_index() -> dict[str, Bank]:
    return {alias: bank for bank in BANKS for alias in bank.aliases}


def bank_mentions(text: str) -> list[tuple[int, int, Bank]]:
    """(start, end, bank) of every bank named in `fold_words(text)`, positions in that folded text."""
    return [
        (match.start(), match.end(), _alias_index()[match.group(1)])
        for match in _alias_pattern().finditer(fold_words(text))
    ]


def find_banks(text: str) -> list[Bank]:
    """Banks named in `text` (accent-insensitive, whole words), in order of appearance, no repeats."""
    found: dict[str, Bank] = {}
    for _, _, bank in bank_mentions(text):
        found.setdefault(bank.code, bank)
    return list(found.values())


def find_bank(text: str) -> Bank | None:
    """The first bank named in `text`, if any."""
    banks = find_banks(text)
    return banks[0] if banks else None


def bank_name(code: str) -> str:
    """Display name of a bank code ("VCB" → "Vietcombank"); the code itself when unknown."""
    bank = BANKS_BY_CODE.get(code)
    return bank.name if bank else code
