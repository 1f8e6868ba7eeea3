"""The evidence report in a real browser: Debian's headless Chromium, driven over the DevTools
protocol with aiohttp's websocket client.

It checks that the page loads with no console error and no network request at all, that it fits a
phone's width, and that it prints to A4. The same harness is run on a page that does fetch
something, to show that it would notice. Where Chromium is not installed the tests are skipped
with a message saying how to install it (`apt-get install chromium`; .ci/run does it as root).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import random
import re
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.cli import main
from tests.test_association_report import UNTIL, make_db, random_cases

CHROMIUM = shutil.which("chromium")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="SKIPPED LOUDLY: Debian's chromium is not installed, so the evidence report was NOT "
        "checked in a browser (apt-get install -y chromium)",
    ),
]
TIMEOUT = 60


@dataclass
class Page:
    """What the browser saw while loading one page."""

    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    loaded: asyncio.Event = field(default_factory=asyncio.Event)


class DevTools:
    """One page target over the browser's websocket (flattened sessions)."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self._socket = socket
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.page = Page()
        self.session: str | None = None
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        ident = next(self._ids)
        message: dict[str, Any] = {"id": ident, "method": method, "params": params}
        if self.session is not None and not method.startswith(("Target.", "Browser.")):
            message["sessionId"] = self.session
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[ident] = future
        await self._socket.send_str(json.dumps(message))
        reply = await asyncio.wait_for(future, TIMEOUT)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        result: dict[str, Any] = reply.get("result", {})
        return result

    async def _read(self) -> None:
        async for message in self._socket:
            data = json.loads(message.data)
            if "id" in data and data["id"] in self._waiting:
                self._waiting.pop(data["id"]).set_result(data)
                continue
            method, params = data.get("method"), data.get("params", {})
            if method == "Network.requestWillBeSent":
                self.page.requests.append(params["request"]["url"])
            elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
                self.page.errors.append(json.dumps(params["args"]))
            elif method == "Runtime.exceptionThrown":
                self.page.errors.append(json.dumps(params["exceptionDetails"]))
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                self.page.errors.append(params["entry"]["text"])
            elif method == "Page.loadEventFired":
                self.page.loaded.set()

    async def open(self, url: str) -> Page:
        self.page = Page()
        await self.call("Page.navigate", url=url)
        await asyncio.wait_for(self.page.loaded.wait(), TIMEOUT)
        return self.page

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"]["value"]


@asynccontextmanager
async def chromium(profile: Path) -> AsyncIterator[DevTools]:
    assert CHROMIUM is not None
    process = await asyncio.create_subprocess_exec(
        CHROMIUM,
        "--headless",
        "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
        "--disable-gpu",
        "--no-first-run",
        "--no-default-browser-check",
        "--remote-debugging-port=0",
        f"--user-data-dir={profile}",
        "about:blank",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stderr is not None
        endpoint = None
        while endpoint is None:
            line = await asyncio.wait_for(process.stderr.readline(), TIMEOUT)
            if not line:
                raise RuntimeError("chromium exited before it listened for DevTools")
            found = re.search(rb"DevTools listening on (ws://\S+)", line)
            endpoint = found.group(1).decode() if found else None
        drain = asyncio.get_running_loop().create_task(_drain(process.stderr))
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(endpoint, max_msg_size=0) as socket,
        ):
            tools = DevTools(socket)
            target = await tools.call("Target.createTarget", url="about:blank")
            attached = await tools.call(
                "Target.attachToTarget", targetId=target["targetId"], flatten=True
            )
            tools.session = attached["sessionId"]
            for domain in ("Page", "Network", "Runtime", "Log"):
                await tools.call(f"{domain}.enable")
            yield tools
            await tools.call("Browser.close")
        drain.cancel()
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.readline():
        pass


def _report(tmp_path: Path) -> Path:
    make_db(tmp_path / "a.db", random_cases(random.Random(11), [f"S{n}" for n in range(9)], 500))
    out = tmp_path / "report.html"
    code = main(
        [
            "evidence",
            "--db",
            str(tmp_path / "a.db"),
            "--until",
            UNTIL.isoformat(),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    return out


async def test_the_report_loads_in_chromium_with_no_request_and_no_console_error(
    tmp_path: Path,
) -> None:
    report = await asyncio.to_thread(_report, tmp_path)  # the CLI runs its own event loop
    async with chromium(tmp_path / "profile") as browser:
        page = await browser.open(report.as_uri())
        assert page.requests == [report.as_uri()]  # the page itself, and nothing else
        assert page.errors == []
        assert await browser.evaluate("document.querySelectorAll('svg').length") == 3
        assert "schools reported" in await browser.evaluate(
            "document.querySelector('.headline').textContent"
        )
        # On a phone: nothing wider than the screen (wide tables scroll inside their box).
        await browser.call(
            "Emulation.setDeviceMetricsOverride",
            width=360,
            height=740,
            deviceScaleFactor=2,
            mobile=True,
        )
        page = await browser.open(report.as_uri())
        assert page.errors == []
        width = await browser.evaluate("document.documentElement.scrollWidth")
        assert width <= 360
        # On A4: it prints, to a handful of pages.
        await browser.call("Emulation.clearDeviceMetricsOverride")
        pdf = await browser.call(
            "Page.printToPDF", paperWidth=8.27, paperHeight=11.69, preferCSSPageSize=True
        )
        document = base64.b64decode(pdf["data"])
        pages = len(re.findall(rb"/Type\s*/Page(?!s)", document))
        assert 1 <= pages <= 8


async def test_the_harness_notices_a_request_and_a_console_error(tmp_path: Path) -> None:
    fetching = tmp_path / "fetching.html"
    fetching.write_text(
        '<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'\"></head><body>"
        '<img src="https://example.invalid/logo.png"></body></html>'
    )
    async with chromium(tmp_path / "profile") as browser:
        page = await browser.open(fetching.as_uri())
        # The policy blocks the fetch before it leaves, and says so in the console.
        assert page.errors, page
    plain = tmp_path / "plain.html"
    plain.write_text(
        '<!DOCTYPE html><html><body><img src="http://127.0.0.1:9/x.png"></body></html>'
    )
    async with chromium(tmp_path / "profile2") as browser:
        page = await browser.open(plain.as_uri())
        assert "http://127.0.0.1:9/x.png" in page.requests
