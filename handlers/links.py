"""Finding links in report text, telling which platform they are on, and canonicalising them.

Canonical URLs are the deduplication key for cases, so two staff who paste the same post with
different tracking parameters end up on the same case. Everything here is pure and never raises.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from storage.models import Platform


@dataclass(frozen=True)
class Link:
    original: str
    canonical: str
    platform: Platform


MAX_URL_LENGTH = 2048

# Slack wraps links as <https://…> or <https://…|label>; bare links end at whitespace or brackets.
_ANGLE_LINK = re.compile(r"<(https?://[^|>\s]+)(?:\|[^>]*)?>", re.IGNORECASE)
_BARE_LINK = re.compile(
    r"(?:(?:https?://)|(?:www\.))[^\s<>\"'`{}|\\^\[\]]+"
    r"|(?<![\w@./-])(?:[a-z0-9-]+\.)*"
    r"(?:tiktok\.com|instagram\.com|facebook\.com|fb\.watch|snapchat\.com|x\.com|twitter\.com"
    r"|youtube\.com|youtu\.be|threads\.net|threads\.com|t\.co)/[^\s<>\"'`{}|\\^\[\]]*",
    re.IGNORECASE,
)
_TRAILING_PUNCTUATION = ".,;:!?)]}'\""

# Invisible characters that split or extend a link without changing what it looks like: zero-width
# space, non-joiner, joiner, word joiner, byte-order mark, soft hyphen, and every bidirectional
# mark, embedding, override and isolate.
_INVISIBLE = re.compile("[\u00ad\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]")

_HOST_PLATFORMS: tuple[tuple[str, Platform], ...] = (
    ("tiktok.com", Platform.TIKTOK),
    ("instagram.com", Platform.INSTAGRAM),
    ("instagr.am", Platform.INSTAGRAM),
    ("facebook.com", Platform.FACEBOOK),
    ("fb.com", Platform.FACEBOOK),
    ("fb.watch", Platform.FACEBOOK),
    ("snapchat.com", Platform.SNAPCHAT),
    ("x.com", Platform.X),
    ("twitter.com", Platform.X),
    ("t.co", Platform.X),
    ("youtube.com", Platform.YOUTUBE),
    ("youtu.be", Platform.YOUTUBE),
    ("youtube-nocookie.com", Platform.YOUTUBE),
    ("threads.net", Platform.THREADS),
    ("threads.com", Platform.THREADS),
)

# Parameters that identify content on known platforms; every other parameter is dropped there.
_KEPT_PARAMETERS: dict[Platform, frozenset[str]] = {
    Platform.YOUTUBE: frozenset({"v"}),
    Platform.FACEBOOK: frozenset({"story_fbid", "id", "v", "fbid"}),
}
# On other sites only known tracking parameters are dropped.
_TRACKING_PARAMETERS = frozenset(
    {
        "_r",
        "_t",
        "is_from_webapp",
        "sender_device",
        "igsh",
        "igshid",
        "si",
        "feature",
        "fbclid",
        "mibextid",
        "gclid",
        "ref",
        "ref_src",
    }
)
_HOST_ALIASES = {"twitter.com": "x.com", "threads.net": "threads.com", "fb.com": "facebook.com"}
_OTHER_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:(?!\d+(?:[/?#]|$))", re.IGNORECASE)
_YOUTUBE_PATH_ID = re.compile(r"^/(?:shorts|live|embed|v)/([A-Za-z0-9_-]+)")


def extract_urls(text: str) -> list[str]:
    """Every URL-looking piece of text, in order, Slack's <url|label> form included."""
    found: list[str] = []
    for match in _ANGLE_LINK.finditer(text):
        found.append(match.group(1))
    remainder = _ANGLE_LINK.sub(" ", text)
    for match in _BARE_LINK.finditer(remainder):
        url = match.group(0).rstrip(_TRAILING_PUNCTUATION)
        if url:
            found.append(url)
    return found


def find_links(text: str, marked_up: tuple[str, ...] | list[str] = ()) -> list[Link]:
    """Distinct canonical links from the adapter's marked-up URLs and the text, first seen first."""
    links: list[Link] = []
    seen: set[str] = set()
    for url in [*marked_up, *extract_urls(normalise(text))]:
        link = canonicalise(url)
        if link is not None and link.canonical not in seen:
            seen.add(link.canonical)
            links.append(link)
    return links


def normalise(text: str) -> str:
    """Text as a link reader should see it: NFKC (a full-width host is its ASCII self) with
    zero-width and bidirectional control characters removed (a zero-width space inside a host
    leaves one link, and one after a link is not part of it)."""
    return unicodedata.normalize("NFKC", _INVISIBLE.sub("", text))


def detect_platform(host: str) -> Platform:
    host = host.lower().rstrip(".")
    for domain, platform in _HOST_PLATFORMS:
        if host == domain or host.endswith("." + domain):
            return platform
    return Platform.OTHER


@functools.lru_cache(maxsize=1024)
def canonicalise(url: str) -> Link | None:
    """The canonical form of an http(s) link, or None when it is not a usable web link.
    Cached (a Link is immutable): a report's links are read once to log them and again to
    tell the reporter about the ones that cannot be used."""
    try:
        return _canonicalise(normalise(url).strip())
    except (ValueError, UnicodeError):
        return None


def _canonicalise(given: str) -> Link | None:
    url = given
    if not url or len(url) > MAX_URL_LENGTH or any(ord(c) < 33 or c.isspace() for c in url):
        return None
    if "://" not in url.split("?", 1)[0]:
        if _OTHER_SCHEME.match(url):
            return None  # javascript:, mailto:, data: and friends
        url = "https://" + url
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        return None
    host = (parts.hostname or "").lower().rstrip(".")
    if not host or "." not in host or host.startswith(".") or ".." in host:
        return None
    # IDNA: a host in any script has one ASCII form; this also rejects labels no browser accepts.
    host = host.encode("idna").decode("ascii")
    port = parts.port
    for prefix in ("www.", "m.", "mobile."):
        if host.startswith(prefix) and host.count(".") >= 2:
            host = host[len(prefix) :]
    host = _HOST_ALIASES.get(host, host)
    platform = detect_platform(host)
    path = re.sub(r"/{2,}", "/", parts.path or "/")
    query = parse_qsl(parts.query, keep_blank_values=True)

    if platform is Platform.YOUTUBE:
        host, path, query = _youtube(host, path, query)
    if platform is Platform.INSTAGRAM:
        path = re.sub(r"^/(?:[^/]+/)?(p|reel|reels|tv)/", lambda m: f"/{_reel(m.group(1))}/", path)

    if platform is Platform.OTHER:
        query = [(k, v) for k, v in query if not _is_tracking(k)]
    else:
        kept = _KEPT_PARAMETERS.get(platform, frozenset())
        query = [(k, v) for k, v in query if k in kept]
    query.sort()

    if len(path) > 1:
        path = path.rstrip("/") or "/"
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    canonical = urlunsplit(("https", netloc, path, urlencode(query), ""))
    return Link(original=given, canonical=canonical, platform=platform)


def _youtube(
    host: str, path: str, query: list[tuple[str, str]]
) -> tuple[str, str, list[tuple[str, str]]]:
    """Every YouTube video form becomes youtube.com/watch?v=ID; the ID needs no network to find."""
    video_id = ""
    if host == "youtu.be":
        video_id = path.strip("/").split("/", 1)[0]
    elif match := _YOUTUBE_PATH_ID.match(path):
        video_id = match.group(1)
    if video_id:
        return "youtube.com", "/watch", [("v", video_id)]
    if host == "youtube-nocookie.com":
        host = "youtube.com"
    return host, path, query


def _reel(kind: str) -> str:
    return "reel" if kind == "reels" else kind


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered.startswith("utm_") or lowered in _TRACKING_PARAMETERS
