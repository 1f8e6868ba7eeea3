from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.links import canonicalise, extract_urls, find_links
from storage.models import Platform

CASES = [
    # (given, canonical, platform)
    (
        "https://www.tiktok.com/@someone/video/7301234567890123456?is_from_webapp=1&sender_device=pc",
        "https://tiktok.com/@someone/video/7301234567890123456",
        Platform.TIKTOK,
    ),
    (
        "https://www.tiktok.com/@a.b/photo/123?_r=1&_t=x",
        "https://tiktok.com/@a.b/photo/123",
        Platform.TIKTOK,
    ),
    ("https://vm.tiktok.com/ZMabc123/", "https://vm.tiktok.com/ZMabc123", Platform.TIKTOK),
    ("https://vt.tiktok.com/ZSxyz/", "https://vt.tiktok.com/ZSxyz", Platform.TIKTOK),
    ("https://www.tiktok.com/t/ZTabc/", "https://tiktok.com/t/ZTabc", Platform.TIKTOK),
    (
        "https://www.instagram.com/p/Cx1Ab/?igsh=abc",
        "https://instagram.com/p/Cx1Ab",
        Platform.INSTAGRAM,
    ),
    ("https://instagram.com/reels/Cx1Ab/", "https://instagram.com/reel/Cx1Ab", Platform.INSTAGRAM),
    (
        "https://www.instagram.com/someone/reel/Cx1Ab/?igshid=1",
        "https://instagram.com/reel/Cx1Ab",
        Platform.INSTAGRAM,
    ),
    ("https://instagram.com/tv/Cx1Ab", "https://instagram.com/tv/Cx1Ab", Platform.INSTAGRAM),
    (
        "https://instagram.com/stories/someone/123/",
        "https://instagram.com/stories/someone/123",
        Platform.INSTAGRAM,
    ),
    (
        "https://www.facebook.com/someone/posts/pfbid0abc?mibextid=x&fbclid=y",
        "https://facebook.com/someone/posts/pfbid0abc",
        Platform.FACEBOOK,
    ),
    (
        "https://m.facebook.com/permalink.php?story_fbid=1&id=2&ref=3",
        "https://facebook.com/permalink.php?id=2&story_fbid=1",
        Platform.FACEBOOK,
    ),
    (
        "https://www.facebook.com/someone/videos/123/",
        "https://facebook.com/someone/videos/123",
        Platform.FACEBOOK,
    ),
    ("https://facebook.com/reel/123", "https://facebook.com/reel/123", Platform.FACEBOOK),
    ("https://fb.watch/abcDEF/", "https://fb.watch/abcDEF", Platform.FACEBOOK),
    (
        "https://twitter.com/someone/status/123?s=20&t=abc",
        "https://x.com/someone/status/123",
        Platform.X,
    ),
    (
        "https://mobile.twitter.com/someone/status/123",
        "https://x.com/someone/status/123",
        Platform.X,
    ),
    ("https://x.com/someone/status/123", "https://x.com/someone/status/123", Platform.X),
    ("https://t.co/AbC123", "https://t.co/AbC123", Platform.X),
    (
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ&feature=share&t=42",
        "https://youtube.com/watch?v=dQw4w9WgXcQ",
        Platform.YOUTUBE,
    ),
    (
        "https://youtu.be/dQw4w9WgXcQ?si=abc",
        "https://youtube.com/watch?v=dQw4w9WgXcQ",
        Platform.YOUTUBE,
    ),
    (
        "https://youtube.com/shorts/abc_DEF-1?feature=share",
        "https://youtube.com/watch?v=abc_DEF-1",
        Platform.YOUTUBE,
    ),
    ("https://www.youtube.com/live/abc123", "https://youtube.com/watch?v=abc123", Platform.YOUTUBE),
    (
        "https://www.youtube.com/embed/abc123",
        "https://youtube.com/watch?v=abc123",
        Platform.YOUTUBE,
    ),
    (
        "https://m.youtube.com/watch?v=abc123",
        "https://youtube.com/watch?v=abc123",
        Platform.YOUTUBE,
    ),
    (
        "https://www.snapchat.com/spotlight/W7_EDlXWTBiXAEEniNoMPwAAYcHRt?share_id=1",
        "https://snapchat.com/spotlight/W7_EDlXWTBiXAEEniNoMPwAAYcHRt",
        Platform.SNAPCHAT,
    ),
    ("https://snapchat.com/add/someone", "https://snapchat.com/add/someone", Platform.SNAPCHAT),
    ("https://story.snapchat.com/s/abc", "https://story.snapchat.com/s/abc", Platform.SNAPCHAT),
    (
        "https://www.threads.net/@someone/post/Cabc?xmt=1",
        "https://threads.com/@someone/post/Cabc",
        Platform.THREADS,
    ),
    (
        "https://www.threads.com/@someone/post/Cabc",
        "https://threads.com/@someone/post/Cabc",
        Platform.THREADS,
    ),
    (
        "HTTP://Example.COM/Path?utm_source=x&b=2#top",
        "https://example.com/Path?b=2",
        Platform.OTHER,
    ),
    ("www.tiktok.com/@someone/video/1", "https://tiktok.com/@someone/video/1", Platform.TIKTOK),
]


@pytest.mark.parametrize(("url", "canonical", "platform"), CASES)
def test_known_forms_canonicalise_to_one_url_per_post(
    url: str, canonical: str, platform: Platform
) -> None:
    link = canonicalise(url)
    assert link is not None
    assert link.canonical == canonical
    assert link.platform is platform
    assert link.original == url


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "mailto:head@school.org",
        "http:///no-host",
        "https://",
        "ftp://x.org/a",
        "data:text/html,<b>",
        "https://localhost/a",
        "https://exa mple.com/",
        "https://a..b/c",
        "",
        "https://x.com:99999/a",
        "https://[::1/a",
        "https://" + "a" * 3000 + ".com",
    ],
)
def test_unusable_links_are_refused(url: str) -> None:
    assert canonicalise(url) is None


def test_extract_finds_slack_bare_and_schemeless_links_in_order() -> None:
    text = (
        "see <https://x.com/a/status/1|this post> and https://vm.tiktok.com/ZMabc/. "
        "also instagram.com/p/AbC, (https://youtu.be/q) and <https://example.org/x>"
    )
    assert extract_urls(text) == [
        "https://x.com/a/status/1",
        "https://example.org/x",
        "https://vm.tiktok.com/ZMabc/",
        "instagram.com/p/AbC",
        "https://youtu.be/q",
    ]


def test_find_links_merges_adapter_links_with_text_and_dedupes() -> None:
    links = find_links(
        "https://www.tiktok.com/@a/video/1?_r=1 and again https://tiktok.com/@a/video/1",
        ["https://youtu.be/abc", "https://www.youtube.com/watch?v=abc"],
    )
    assert [link.canonical for link in links] == [
        "https://youtube.com/watch?v=abc",
        "https://tiktok.com/@a/video/1",
    ]


def test_email_addresses_and_mentions_are_not_links() -> None:
    assert extract_urls("mail head@tiktok.com or @someone") == []


urls = st.one_of(
    st.text(max_size=300),
    st.builds(
        lambda scheme, host, path, query: f"{scheme}{host}{path}{query}",
        st.sampled_from(["https://", "http://", "", "HTTPS://", "javascript:", "//"]),
        st.sampled_from(
            [
                "www.tiktok.com",
                "vm.tiktok.com",
                "youtu.be",
                "m.youtube.com",
                "twitter.com",
                "instagram.com",
                "fb.watch",
                "threads.net",
                "example.org",
                "xn--bcher-kva.de",
                "bücher.de",
                "a.b",
                "[::1]",
                "x.com:443",
                "user:pw@x.com",
            ]
        ),
        st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=60).map(
            lambda s: "/" + s
        ),
        st.text(max_size=60).map(lambda s: "?" + s),
    ),
)


@pytest.mark.slow
@given(urls)
def test_canonicalise_never_raises_and_is_idempotent(url: str) -> None:
    link = canonicalise(url)
    if link is not None:
        again = canonicalise(link.canonical)
        assert again is not None
        assert again.canonical == link.canonical
        assert again.platform == link.platform
        assert link.canonical.startswith("https://")


@given(st.text(max_size=2000))
def test_extract_never_raises_and_finds_only_text_from_the_input(text: str) -> None:
    for url in extract_urls(text):
        assert url in text
    find_links(text)


@pytest.mark.slow
@given(st.lists(st.sampled_from([c[0] for c in CASES]), max_size=8))
def test_find_links_returns_distinct_canonical_urls(picked: list[str]) -> None:
    links = find_links(" ".join(picked))
    canonicals = [link.canonical for link in links]
    assert len(canonicals) == len(set(canonicals))
    assert set(canonicals) == {c[1] for c in CASES if c[0] in picked}


@pytest.mark.parametrize(
    "parameter",
    ["UTM_Source=news", "Utm_Medium=x", "FBCLID=1", "GCLID=2", "IGSHID=3", "Is_From_Webapp=1"],
)
@pytest.mark.parametrize(
    ("base", "canonical"),
    [
        ("https://example.com/story?b=2", "https://example.com/story?b=2"),
        ("https://www.tiktok.com/@a/video/9?lang=en", "https://tiktok.com/@a/video/9"),
        ("https://youtu.be/abc?t=3", "https://youtube.com/watch?v=abc"),
        ("https://news.example.org/a", "https://news.example.org/a"),
    ],
)
def test_tracking_parameters_match_whatever_their_case(
    parameter: str, base: str, canonical: str
) -> None:
    joiner = "&" if "?" in base else "?"
    link = canonicalise(f"{base}{joiner}{parameter}")
    assert link is not None and link.canonical == canonical


def test_cached_links_are_told_apart_by_case_and_cannot_be_changed() -> None:
    """canonicalise is cached: a video id differing only in case is another video, and the
    Link it hands out (shared by every caller) is frozen."""
    upper = canonicalise("https://youtu.be/AbCdEfGhIjK")
    lower = canonicalise("https://youtu.be/abcdefghijk")
    assert upper is not None and lower is not None
    assert upper.canonical == "https://youtube.com/watch?v=AbCdEfGhIjK"
    assert lower.canonical == "https://youtube.com/watch?v=abcdefghijk"
    with pytest.raises(dataclasses.FrozenInstanceError):
        upper.canonical = "https://example.com/"  # type: ignore[misc]
