"""Debian's headless Chromium, driven over the DevTools protocol (CDP) with aiohttp's websocket client.

No Selenium or Playwright: the tests need to load a page at phone width, read what it shows (text, computed
colours, sizes), tap an element the way a finger does (a mouse press and release at its centre), see every
request the page makes, and take a screenshot; that is a dozen CDP calls. The browser gets a fresh profile and
every background service off, so the only requests it makes are the page's own.
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import aiohttp

CHROMIUM = shutil.which("chromium")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps",
         "--disable-extensions", "--hide-scrollbars", "--mute-audio")


class Page:
    """One tab: CDP commands in order, events collected."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.next_id = 0
        self.requests: list[str] = []
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._loaded = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            data = json.loads(msg.data)
            if "id" in data and data["id"] in self._waiting:
                self._waiting.pop(data["id"]).set_result(data)
            elif data.get("method") == "Network.requestWillBeSent":
                self.requests.append(data["params"]["request"]["url"])
            elif data.get("method") == "Page.loadEventFired":
                self._loaded.set()

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[self.next_id] = fut
        await self.ws.send_str(json.dumps({"id": self.next_id, "method": method, "params": params}))
        reply = await asyncio.wait_for(fut, 30)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return dict(reply.get("result", {}))

    async def phone(self, width: int = 390, height: int = 844) -> None:
        """An iPhone-sized viewport: 390 CSS px wide, touch, mobile layout."""
        await self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                        mobile=True)
        await self.call("Emulation.setTouchEmulationEnabled", enabled=True)

    async def goto(self, url: str) -> None:
        self._loaded.clear()
        await self.call("Page.navigate", url=url)
        await asyncio.wait_for(self._loaded.wait(), 30)

    async def js(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def tap(self, selector: str) -> None:
        """A finger on the element's centre (scrolled into view first), then wait for the page it opens."""
        box = await self.js(f"""(() => {{ const el = document.querySelector({json.dumps(selector)});
            if (!el) return null; el.scrollIntoView({{block: 'center'}}); const r = el.getBoundingClientRect();
            return [r.left + r.width / 2, r.top + r.height / 2]; }})()""")
        assert box is not None, f"nothing to tap at {selector}"
        x, y = box
        self._loaded.clear()
        point = [{"x": x, "y": y}]
        await self.call("Input.dispatchTouchEvent", type="touchStart", touchPoints=point)
        await self.call("Input.dispatchTouchEvent", type="touchEnd", touchPoints=[])
        await asyncio.wait_for(self._loaded.wait(), 30)

    async def screenshot(self, path: Path, full: bool = False) -> None:
        params: dict[str, Any] = {"format": "png"}
        if full:
            w, h = await self.js("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
            params["clip"] = {"x": 0, "y": 0, "width": w, "height": min(h, 4000), "scale": 1}
            params["captureBeyondViewport"] = True
        shot = await self.call("Page.captureScreenshot", **params)
        path.write_bytes(base64.b64decode(shot["data"]))

    async def close(self) -> None:
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)
        await self.ws.close()


class Chromium:
    """``async with Chromium(tmp) as browser: page = await browser.page()``."""

    def __init__(self, workdir: Path) -> None:
        assert CHROMIUM is not None
        self.profile = workdir / "chromium-profile"
        self.profile.mkdir(parents=True, exist_ok=True)
        self.log = (workdir / "chromium.log").open("wb")
        self.proc = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={self.profile}",
                                      "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
                                      "about:blank"], stdout=self.log, stderr=subprocess.STDOUT)
        self.http: aiohttp.ClientSession | None = None
        self.port = 0
        self.pages: list[Page] = []

    async def __aenter__(self) -> Chromium:
        port_file = self.profile / "DevToolsActivePort"
        end = time.monotonic() + 60
        while not port_file.exists() or not port_file.read_text().strip():
            if self.proc.poll() is not None or time.monotonic() > end:
                raise RuntimeError("chromium did not start: " + (self.profile.parent / "chromium.log").read_text()[-2000:])
            await asyncio.sleep(0.1)
        self.port = int(port_file.read_text().split()[0])
        self.http = aiohttp.ClientSession()
        return self

    async def page(self) -> Page:
        assert self.http is not None
        async with self.http.put(f"http://127.0.0.1:{self.port}/json/new?about:blank") as r:
            target = await r.json()
        ws = await self.http.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=64 * 1024 * 1024)
        page = Page(ws)
        for domain in ("Page", "Network", "Runtime"):
            await page.call(f"{domain}.enable")
        self.pages.append(page)
        return page

    async def __aexit__(self, *exc: object) -> None:
        for p in self.pages:
            await p.close()
        if self.http is not None:
            await self.http.close()
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.log.close()
