"""A local stand-in for the Hugging Face Hub's HTTP API, enough for huggingface_hub to create a
dataset repository, commit files to it and download them again: tests point `HF_ENDPOINT` at it
and never reach the network.

Files are kept in memory per repository; every commit gets a new 40-hex id. Each request is
logged, so a test can show that nothing was uploaded.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlparse

# Files the stand-in takes through Git LFS, as the Hub does for data shards.
LFS = (".parquet", ".arrow")


class HubStandIn:
    def __init__(self) -> None:
        self.repos: dict[str, dict[str, bytes]] = {}
        self.commits: dict[str, list[str]] = {}
        self.requests: list[tuple[str, str]] = []
        self.tokens: list[str | None] = []
        # Git LFS objects by sha256, uploaded before the commit that names them.
        self.lfs: dict[str, bytes] = {}
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _body(self) -> bytes:
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _send(self, status: int, payload: Any = None, *, raw: bytes | None = None,
                      headers: dict[str, str] | None = None, head: bool = False) -> None:
                data = raw if raw is not None else (json.dumps(payload).encode() if payload is not None else b"")
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if raw is None else "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                if not head:
                    self.wfile.write(data)

            def _route(self, head: bool = False) -> None:
                path = unquote(urlparse(self.path).path)
                hub.requests.append((self.command, path))
                hub.tokens.append(self.headers.get("Authorization"))
                body = self._body() if self.command in ("POST", "PUT") else b""
                if self.command == "POST" and path == "/api/repos/create":
                    spec = json.loads(body)
                    repo = f"{spec['organization']}/{spec['name']}" if spec.get("organization") else spec["name"]
                    if repo in hub.repos:
                        return self._send(409, {"error": "You already created this dataset repo", "url": repo})
                    hub.repos[repo] = {}
                    hub.commits[repo] = [hashlib.sha1(repo.encode()).hexdigest()]
                    return self._send(200, {"url": f"{hub.url}/datasets/{repo}", "name": repo})
                if self.command == "POST" and path == "/api/validate-yaml":
                    return self._send(200, {"errors": [], "warnings": []})
                parts = path.strip("/").split("/")
                if parts[:2] == ["api", "datasets"] and len(parts) == 4:
                    repo = "/".join(parts[2:4])
                    if repo not in hub.repos:
                        return self._send(404, {"error": "Repository not found"}, headers={"X-Error-Code": "RepoNotFound"})
                    return self._send(200, hub.info(repo))
                if parts[:2] == ["api", "datasets"] and len(parts) >= 6:
                    repo, action = "/".join(parts[2:4]), parts[4]
                    if repo not in hub.repos:
                        return self._send(404, {"error": "Repository not found"},
                                          headers={"X-Error-Code": "RepoNotFound"})
                    files = hub.repos[repo]
                    if action == "revision":
                        return self._send(200, hub.info(repo))
                    if action == "tree":
                        under = "/".join(parts[6:])
                        listed = [
                            {"type": "file", "path": name, "size": len(data), "oid": hashlib.sha1(data).hexdigest()}
                            for name, data in sorted(files.items()) if not under or name.startswith(under + "/")
                        ]
                        if under and not listed:
                            return self._send(404, {"error": "Entry not found"}, headers={"X-Error-Code": "EntryNotFound"})
                        return self._send(200, listed)
                    if action == "preupload":
                        wanted = json.loads(body)["files"]
                        return self._send(200, {"files": [
                            {"path": f["path"], "uploadMode": "lfs" if f["path"].endswith(LFS) else "regular",
                             "shouldIgnore": False} for f in wanted
                        ], "commitOid": hub.commits[repo][-1]})
                    if action == "commit":
                        for line in body.decode().splitlines():
                            item = json.loads(line)
                            if item["key"] == "file":
                                value = item["value"]
                                files[value["path"]] = base64.b64decode(value["content"])
                            elif item["key"] == "lfsFile":
                                value = item["value"]
                                files[value["path"]] = hub.lfs[value["oid"]]
                            elif item["key"] == "deletedFile":
                                files.pop(item["value"]["path"], None)
                        commit = hashlib.sha1(json.dumps(sorted(files)).encode() + body).hexdigest()
                        hub.commits[repo].append(commit)
                        return self._send(200, {"commitUrl": f"{hub.url}/datasets/{repo}/commit/{commit}",
                                                "commitOid": commit, "success": True})
                if self.command == "POST" and path.endswith(".git/info/lfs/objects/batch"):
                    # Git LFS batch API: every object is to be PUT to the stand-in itself.
                    request = json.loads(body)
                    return self._send(200, {"transfer": "basic", "objects": [
                        {"oid": o["oid"], "size": o["size"], "authenticated": True,
                         "actions": {"upload": {"href": f"{hub.url}/lfs-upload/{o['oid']}", "header": {}}}}
                        for o in request["objects"]
                    ]})
                if self.command == "PUT" and path.startswith("/lfs-upload/"):
                    hub.lfs[path.rsplit("/", 1)[1]] = body
                    return self._send(200, {})
                if parts[:1] == ["datasets"] and len(parts) >= 6 and parts[3] == "resolve":
                    repo, name = "/".join(parts[1:3]), "/".join(parts[5:])
                    data = hub.repos.get(repo, {}).get(name)
                    if data is None:
                        return self._send(404, {"error": "Entry not found"}, headers={"X-Error-Code": "EntryNotFound"},
                                          head=head)
                    etag = hashlib.sha1(data).hexdigest()
                    return self._send(200, raw=data, head=head, headers={
                        "ETag": f'"{etag}"', "X-Repo-Commit": hub.commits[repo][-1],
                    })
                return self._send(404, {"error": f"the stand-in does not serve {self.command} {path}"}, head=head)

            def do_GET(self) -> None:
                self._route()

            def do_HEAD(self) -> None:
                self._route(head=True)

            def do_POST(self) -> None:
                self._route()

            def do_PUT(self) -> None:
                self._route()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def info(self, repo: str) -> dict[str, Any]:
        return {
            "id": repo, "sha": self.commits[repo][-1], "private": False,
            "siblings": [{"rfilename": name, "size": len(data)} for name, data in sorted(self.repos[repo].items())],
        }

    @property
    def uploads(self) -> list[tuple[str, str]]:
        return [r for r in self.requests if r[0] == "POST" and r[1].endswith(tuple(("/commit/main",)))]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
