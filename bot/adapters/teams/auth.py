"""Who may talk to the bot, and the bot's own token: Bot Framework's JWTs checked in, a
client-credentials token out.

Every request to /api/messages carries a JWT that Bot Framework signed with RS256. Its keys are
listed at the `jwks_uri` of an OpenID metadata document; they are cached, and fetched again when
a token names a key id not seen yet, at most once a minute, so a stream of forged key ids cannot
turn the bot into a flood of requests to Microsoft.

The bot's token is fetched here rather than through the SDK's MSAL authentication: MSAL builds
its authority from login.microsoftonline.com and insists on https, so tests could not point it
at a loopback token endpoint. This is that one small wrapper: a form POST, cached until shortly
before the token expires.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import jwt

from bot.adapters.teams.config import TeamsConfig

ISSUER = "https://api.botframework.com"
SCOPE = "https://api.botframework.com/.default"
LEEWAY = 300  # seconds of clock skew allowed on exp and nbf
KEY_REFRESH = 60.0  # seconds between fetches of the key set for an unknown key id
TOKEN_MARGIN = 300  # seconds before its expiry a cached token is fetched again
_TIMEOUT = aiohttp.ClientTimeout(total=10)


class Unauthorized(Exception):
    """A request that is not from Bot Framework for this bot; the message says why, never the
    token."""


class KeysUnavailable(Exception):
    """Bot Framework's signing keys could not be fetched: no request can be checked now, and
    none is the sender's fault, so it is answered 503 and Bot Framework sends it again."""


class TokenUnavailable(Exception):
    """The token endpoint could not be reached or refused the app's credentials."""


@dataclass(frozen=True)
class Caller:
    """What a validated token says: where replies to this activity may go."""

    service_url: str


class RequestChecker:
    """Checks an `Authorization` header against Bot Framework's keys and this app's id."""

    def __init__(self, settings: TeamsConfig, session: aiohttp.ClientSession) -> None:
        self._settings = settings
        self._session = session
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def check(self, authorization: str) -> Caller:
        """What the token says when it is Bot Framework's and for this app; else Unauthorized.
        Only the header is read: the body is parsed after this."""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("no bearer token")
        try:
            header = jwt.get_unverified_header(token.strip())
        except jwt.PyJWTError as error:
            raise Unauthorized(f"not a JWT ({type(error).__name__})") from None
        if header.get("alg") != "RS256":
            raise Unauthorized("not signed with RS256")
        key = await self._key(str(header.get("kid", "")))
        try:
            claims = jwt.decode(
                token.strip(),
                key=key,
                algorithms=["RS256"],
                audience=self._settings.app_id,
                issuer=ISSUER,
                leeway=LEEWAY,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as error:
            raise Unauthorized(type(error).__name__) from None
        claimed = claims.get("serviceurl")
        if not isinstance(claimed, str) or not claimed:
            raise Unauthorized("no serviceurl claim")
        return Caller(claimed)

    def admit(self, caller: Caller, service_url: str | None) -> str:
        """The activity's serviceUrl, once it is the one the token names and one the bot may
        send its own token to; else Unauthorized."""
        if service_url != caller.service_url:
            raise Unauthorized("serviceurl claim does not match the activity")
        if not self._settings.allows(service_url):
            raise Unauthorized("serviceUrl is not in [teams] service_urls")
        return service_url

    async def key_count(self) -> int:
        """How many signing keys Bot Framework lists now (for check-config --online)."""
        await self._fetch_keys()
        return len(self._keys)

    async def _key(self, kid: str) -> Any:
        if kid not in self._keys:
            async with self._lock:
                stale = (
                    self._fetched_at is None or time.monotonic() - self._fetched_at >= KEY_REFRESH
                )
                if kid not in self._keys and stale:
                    await self._fetch_keys()
        if kid not in self._keys:
            raise Unauthorized("signed with a key Bot Framework does not list")
        return self._keys[kid]

    async def _fetch_keys(self) -> None:
        self._fetched_at = time.monotonic()
        try:
            metadata = await self._json(self._settings.openid_metadata)
            jwks_uri = metadata.get("jwks_uri")
            if not isinstance(jwks_uri, str):
                raise KeysUnavailable("the OpenID metadata names no jwks_uri")
            key_set = await self._json(jwks_uri)
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise KeysUnavailable(f"keys unavailable ({type(error).__name__})") from None
        keys: dict[str, Any] = {}
        for entry in key_set.get("keys") or []:
            if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
                continue
            try:
                keys[entry["kid"]] = jwt.PyJWK(entry, algorithm="RS256").key
            except jwt.PyJWTError:
                continue
        self._keys = keys

    async def _json(self, url: str) -> dict[str, Any]:
        async with self._session.get(url, timeout=_TIMEOUT) as response:
            response.raise_for_status()
            data = await response.json(content_type=None)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        return data


class TokenSource:
    """The bot's own access token for the Bot Connector, fetched once and reused."""

    def __init__(self, settings: TeamsConfig, session: aiohttp.ClientSession) -> None:
        self._settings = settings
        self._session = session
        self._token = ""
        self._until = 0.0
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        async with self._lock:
            if not self._token or time.monotonic() >= self._until:
                await self._fetch()
            return self._token

    def forget(self) -> None:
        """Drop the cached token (the Connector said it was not good)."""
        self._token = ""

    async def _fetch(self) -> None:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._settings.app_id,
            "client_secret": self._settings.app_password.value,
            "scope": SCOPE,
        }
        try:
            async with self._session.post(
                self._settings.token_url, data=form, timeout=_TIMEOUT
            ) as response:
                data = await response.json(content_type=None)
                status = response.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise TokenUnavailable(f"token endpoint: {type(error).__name__}") from None
        token = data.get("access_token") if isinstance(data, dict) else None
        if status != 200 or not isinstance(token, str) or not token:
            raise TokenUnavailable(f"token endpoint answered {status}")
        seconds = _seconds(data.get("expires_in"))
        self._token = token
        self._until = time.monotonic() + max(seconds - TOKEN_MARGIN, seconds / 2)


def _seconds(value: Any) -> float:
    """A token's lifetime in seconds as the endpoint gave it (a number or text); an hour when it
    gave none."""
    try:
        return max(float(value), 0.0)
    except (TypeError, ValueError):
        return 3600.0
