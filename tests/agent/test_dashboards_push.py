"""``farmwatch dashboards push`` against a small real HTTP server on loopback that answers the Grafana API
endpoints grafana-client calls (folders and dashboards/db), checking the bearer token like Grafana does."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from agent import dashboards
from agent.dashboards import DASHBOARD_DIR, PushError, push

TOKEN = "glsa_test-token-Zq7"


class FakeGrafana(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.folders: dict[str, dict[str, Any]] = {}
        self.dashboards: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, str]] = []  # method, path, Authorization header

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: FakeGrafana

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorised(self, method: str) -> bool:
        auth = self.headers.get("Authorization", "")
        self.server.requests.append((method, self.path, auth))
        if auth != f"Bearer {TOKEN}":
            self._reply(401, {"message": "invalid API key"})
            return False
        return True

    def _json(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        return dict(json.loads(self.rfile.read(length) or b"{}"))

    def do_GET(self) -> None:
        if not self._authorised("GET"):
            return
        if self.path.startswith("/api/folders/"):
            uid = self.path.rsplit("/", 1)[1]
            if uid in self.server.folders:
                self._reply(200, self.server.folders[uid])
            else:
                self._reply(404, {"message": "folder not found"})
            return
        self._reply(404, {"message": "not found"})

    def do_POST(self) -> None:
        if not self._authorised("POST"):
            return
        body = self._json()
        if self.path == "/api/folders":
            folder = {"uid": body["uid"], "title": body["title"], "id": len(self.server.folders) + 1}
            self.server.folders[body["uid"]] = folder
            self._reply(200, folder)
        elif self.path == "/api/dashboards/db":
            dash = body["dashboard"]
            if body.get("folderUid") not in self.server.folders:
                self._reply(400, {"message": "folder not found"})
                return
            if "id" in dash or not body.get("overwrite"):
                self._reply(412, {"message": "version-mismatch"})
                return
            self.server.dashboards[dash["uid"]] = body
            self._reply(200, {"status": "success", "uid": dash["uid"], "url": f"/d/{dash['uid']}"})
        else:
            self._reply(404, {"message": "not found"})


@pytest.fixture
def grafana() -> Iterator[FakeGrafana]:
    server = FakeGrafana()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def expected_uids() -> set[str]:
    return {json.loads(p.read_text())["uid"] for p in DASHBOARD_DIR.glob("*.json")}


def test_push_creates_folder_and_uploads_every_dashboard(grafana: FakeGrafana) -> None:
    uids = push(grafana.url, TOKEN, "farmwatch")
    assert set(uids) == expected_uids() == set(grafana.dashboards)
    assert list(grafana.folders) == ["farmwatch"]
    assert {b["folderUid"] for b in grafana.dashboards.values()} == {"farmwatch"}
    assert all(auth == f"Bearer {TOKEN}" for _, _, auth in grafana.requests)
    # Pushing again overwrites in place and does not create the folder twice.
    push(grafana.url, TOKEN, "farmwatch")
    assert len(grafana.folders) == 1 and set(grafana.dashboards) == expected_uids()
    assert sum(1 for m, p, _ in grafana.requests if (m, p) == ("POST", "/api/folders")) == 1


def test_cli_reads_token_from_file_or_environment(grafana: FakeGrafana, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    monkeypatch.delenv("GRAFANA_TOKEN", raising=False)
    assert dashboards.main(["dashboards", "push", "--url", grafana.url, "--token-file", str(token_file),
                            "--folder", "Mining Site"]) == 0
    assert "pushed 5 dashboards" in capsys.readouterr().out
    assert list(grafana.folders) == ["mining-site"]
    grafana.dashboards.clear()
    monkeypatch.setenv("GRAFANA_TOKEN", TOKEN)
    assert dashboards.main(["dashboards", "push", "--url", grafana.url]) == 0
    assert set(grafana.dashboards) == expected_uids()


def test_cli_has_no_token_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert dashboards.main(["dashboards", "push", "--url", "http://127.0.0.1:1", "--token", TOKEN]) == 2
    assert "--token" in capsys.readouterr().err


def test_missing_or_wrong_token_fails_in_one_line(grafana: FakeGrafana, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("GRAFANA_TOKEN", raising=False)
    assert dashboards.main(["dashboards", "push", "--url", grafana.url]) == 1
    assert capsys.readouterr().err == "farmwatch: no Grafana token: give --token-file PATH or set GRAFANA_TOKEN\n"
    monkeypatch.setenv("GRAFANA_TOKEN", "wrong-secret-value")
    assert dashboards.main(["dashboards", "push", "--url", grafana.url]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"farmwatch: Grafana at {grafana.url} answered 401") and err.count("\n") == 1
    assert "wrong-secret-value" not in err
    assert grafana.dashboards == {}


def test_credentials_in_url_and_unreachable_server_are_refused(tmp_path: Path) -> None:
    with pytest.raises(PushError, match="credentials do not belong in the URL"):
        push("http://admin:admin@127.0.0.1:3000", TOKEN)
    with pytest.raises(PushError, match="not an http"):
        push("grafana:3000", TOKEN)
    with pytest.raises(PushError, match="no dashboards"):
        push("http://127.0.0.1:1", TOKEN, directory=tmp_path)
    with pytest.raises(PushError, match="cannot reach Grafana|answered"):
        push("http://127.0.0.1:1", TOKEN, timeout=2)
