"""Links and social profiles, normalised so that equal things compare equal.

"facebook.com/abc", "https://www.facebook.com/abc/?fbclid=…" and "m.facebook.com/abc" all point at one
profile; a parent checking a link must find the report filed under another spelling of it.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit

from .phones import normalize_phone
from .textnorm import phrases

MAX_URL = 2048
MAX_TEXT = 20_000

HOST_ALIASES: dict[str, str] = {
    "m.facebook.com": "facebook.com",
    "mbasic.facebook.com": "facebook.com",
    "web.facebook.com": "facebook.com",
    "touch.facebook.com": "facebook.com",
    "mobile.facebook.com": "facebook.com",
    "fb.com": "facebook.com",
    "m.youtube.com": "youtube.com",
    "music.youtube.com": "youtube.com",
    "m.tiktok.com": "tiktok.com",
    "m.instagram.com": "instagram.com",
    "chat.zalo.me": "zalo.me",
}
"""Mobile and alternative hosts that serve the same pages (www. is always dropped)."""

TRACKING_PARAMS = frozenset(
    phrases(
        "fbclid | gclid | dclid | msclkid | igshid | igsh | mibextid | si | feature | ref | refsrc | ref_src"
        " | ref_url | fref | hc_ref | rdid | share_url | sfnsn | _rdr | _rdc | __tn__ | __xts__ | _t | _r"
        " | is_from_webapp | sender_device | sender_web_id | is_copy_url | zarsrc | _hsenc | _hsmi | mc_cid"
        " | mc_eid | yclid | ttclid | wbraid | gbraid | checkpoint_src | hl | ocid"
    )
)
TRACKING_PREFIXES = ("utm_", "__cft__", "_nc_")

PLATFORM_HOSTS = frozenset(
    phrases(
        "facebook.com | fb.me | fb.watch | m.me | messenger.com | zalo.me | id.zalo.me | tiktok.com"
        " | vt.tiktok.com | instagram.com | youtube.com | youtu.be | google.com | docs.google.com"
        " | drive.google.com | forms.gle | t.me | telegram.me | x.com | twitter.com | threads.net"
    )
)
"""Hosts of big platforms: a link to them is an indicator, their domain alone is not."""

COMMON_TLDS = phrases(
    "com | vn | net | org | me | info | io | co | edu | gov | ly | gl | be | app | xyz | online | site | top"
    " | shop | store | link | tv | cc | biz | asia | click | live | tk | ml | ga | cf | gq | club | pro | icu"
    " | vip | fun | ws | us | uk | ru | cn | watch | page | dev | cloud | website | space | today | news"
    " | blog | one | win | bid | life | world | work"
)
"""Top-level domains we recognise in running text without "http": "xong.Roi" is not a link."""

_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*://", re.I)
_HOST = re.compile(r"^(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9\-]{0,61}[a-z0-9]$")
_TRAILING = ".,;:!?)]}>'\"…»”’"
_URL_IN_TEXT = re.compile(
    r"(?:https?://|www\.)[^\s<>\"'«»“”]+"
    r"|(?<![\w@.\-/])(?:[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?\.)+(?:" + "|".join(COMMON_TLDS) + r")"
    r"(?::\d{1,5})?(?:/[^\s<>\"'«»“”]*)?(?![\w\-])",
    re.I,
)


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def _host(raw_host: str) -> str | None:
    try:
        host = raw_host.encode("idna").decode("ascii").lower().rstrip(".")
    except UnicodeError:
        return None
    host = host.removeprefix("www.")
    host = HOST_ALIASES.get(host, host)
    return host if _HOST.match(host) else None


def normalize_url(text: str) -> str | None:
    """A canonical https URL, or None if `text` is not a web link.

    Accepts links without a scheme ("facebook.com/abc"); lower-cases the host, drops "www." and mobile
    hosts, tracking parameters (fbclid, utm_*, …), the fragment and trailing slashes; sorts the remaining
    query parameters. http and https give the same result: for "was it reported?" they are one page.
    """
    text = (text or "").strip().strip("<>\"'“”«»").rstrip(_TRAILING)
    if not text or len(text) > MAX_URL or any(char.isspace() for char in text):
        return None
    if _SCHEME.match(text):
        if not text.lower().startswith(("http://", "https://")):
            return None
    else:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    if parts.username or parts.password or not parts.hostname:
        return None
    host = _host(parts.hostname)
    if host is None:
        return None
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    path = re.sub(r"/{2,}", "/", parts.path).rstrip("/")
    query = urlencode(
        sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k))
    )
    return f"https://{netloc}{path}" + (f"?{query}" if query else "")


def find_url_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, normalised URL) of every link in running text, in order."""
    spans = []
    for match in _URL_IN_TEXT.finditer((text or "")[:MAX_TEXT]):
        url = normalize_url(match.group(0))
        if url:
            spans.append((match.start(), match.end(), url))
    return spans


def find_urls(text: str) -> list[str]:
    """Distinct normalised links found in running text (forwarded messages, free answers)."""
    return list(dict.fromkeys(url for _, _, url in find_url_spans(text)))


def url_host(url: str) -> str:
    """Host of a normalised URL ("https://abc.vn/x" → "abc.vn")."""
    return urlsplit(url).hostname or ""


def is_platform_host(host: str) -> bool:
    return host in PLATFORM_HOSTS or any(host.endswith("." + platform) for platform in PLATFORM_HOSTS)


# --- social profiles ---------------------------------------------------------------------------------

FACEBOOK_RESERVED = frozenset(
    phrases(
        "share | sharer | sharer.php | story.php | permalink.php | photo | photo.php | photos | watch | reel"
        " | reels | events | login | login.php | hashtag | marketplace | gaming | help | policies | privacy"
        " | settings | home.php | search | stories | video.php | dialog | plugins | l.php | media | notes"
        " | business | ads | pg"
    )
)
TIKTOK_RESERVED = frozenset({"t", "video", "tag", "music", "discover", "explore", "foryou", "live"})
INSTAGRAM_RESERVED = frozenset(
    {"p", "reel", "reels", "tv", "explore", "accounts", "direct", "about", "legal"}
)


def _facebook(path: list[str], query: dict[str, str]) -> str | None:
    if not path:
        return None
    head = path[0].lower()
    if head == "profile.php":
        user_id = query.get("id", "")
        return f"facebook:{user_id}" if user_id.isdigit() else None
    if head in ("people", "pages", "p") and len(path) >= 3 and path[-1].isdigit():
        return f"facebook:{path[-1]}"
    if head in ("people", "pages", "p") and len(path) == 2:
        tail = path[1].rsplit("-", 1)[-1]
        return f"facebook:{tail}" if tail.isdigit() else None
    if head == "groups" and len(path) >= 2:
        return f"facebook:groups/{path[1].lower()}"
    if head in FACEBOOK_RESERVED or head.endswith(".php"):
        return None
    # Facebook ignores dots and case in usernames: "Nguyen.Van.A" is "nguyenvana".
    return f"facebook:{head.replace('.', '')}" if re.fullmatch(r"[a-z0-9.]{1,80}", head) else None


def _zalo(path: list[str], query: dict[str, str]) -> str | None:
    if not path:
        return None
    if path[0] == "g" and len(path) >= 2:
        return f"zalo:g/{path[1]}"  # invite codes are case-sensitive
    if path[0] in ("s", "pc", "download"):
        return None
    phone = normalize_phone(path[0]) if re.fullmatch(r"\+?\d{9,12}", path[0]) else None
    if phone:
        return f"zalo:{phone}"
    return f"zalo:{path[0].lower()}" if re.fullmatch(r"[A-Za-z0-9._\-]{3,64}", path[0]) else None


def _tiktok(path: list[str], query: dict[str, str]) -> str | None:
    if path and path[0].startswith("@") and len(path[0]) > 1:
        return f"tiktok:{path[0].lower()}"
    return None


def _instagram(path: list[str], query: dict[str, str]) -> str | None:
    if not path:
        return None
    if path[0] == "stories" and len(path) >= 2:
        return f"instagram:{path[1].lower()}"
    if path[0].lower() in INSTAGRAM_RESERVED:
        return None
    return f"instagram:{path[0].lower()}" if re.fullmatch(r"[A-Za-z0-9._]{1,30}", path[0]) else None


def _youtube(path: list[str], query: dict[str, str]) -> str | None:
    if not path:
        return None
    if path[0].startswith("@") and len(path[0]) > 1:
        return f"youtube:{path[0].lower()}"
    if path[0] == "channel" and len(path) >= 2:
        return f"youtube:channel/{path[1]}"  # channel ids are case-sensitive
    if path[0] in ("c", "user") and len(path) >= 2:
        return f"youtube:{path[0]}/{path[1].lower()}"
    return None


PROFILE_RULES = {
    "facebook.com": _facebook,
    "zalo.me": _zalo,
    "tiktok.com": _tiktok,
    "instagram.com": _instagram,
    "youtube.com": _youtube,
}
"""Host → how its paths name an account. Links to a post name the account too (tiktok.com/@x/video/1)."""


def canonical_profile(url: str) -> str | None:
    """`facebook:<handle or id>`, `zalo:+849…`, `tiktok:@user`, `instagram:user`, `youtube:@x` for a
    link that names an account; None for any other link (a post, a share link, a website)."""
    normalised = normalize_url(url)
    if normalised is None:
        return None
    parts = urlsplit(normalised)
    rule = PROFILE_RULES.get(parts.hostname or "")
    if rule is None:
        return None
    path = [segment for segment in parts.path.split("/") if segment]
    return rule(path, dict(parse_qsl(parts.query)))


def profile_display(profile: str) -> str:
    """A readable form of a canonical profile: "tiktok:@abc" → "tiktok.com/@abc"."""
    platform, _, handle = profile.partition(":")
    if platform == "facebook" and handle.isdigit():
        return f"facebook.com/profile.php?id={handle}"
    if platform == "zalo" and handle.startswith("+84"):
        return f"zalo.me/0{handle.removeprefix('+84')}"
    host = {
        "facebook": "facebook.com",
        "zalo": "zalo.me",
        "tiktok": "tiktok.com",
        "instagram": "instagram.com",
        "youtube": "youtube.com",
    }.get(platform, platform)
    return f"{host}/{handle}"
