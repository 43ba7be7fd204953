"""``--web.config.file``: TLS and basic auth for every endpoint, in the format of Prometheus exporter-toolkit.

    tls_server_config:
      cert_file: /etc/farmwatch/tls/server.crt
      key_file: /etc/farmwatch/tls/server.key
      client_ca_file: /etc/farmwatch/tls/ca.crt        # optional: verify client certificates
      client_auth_type: RequireAndVerifyClientCert      # NoClientCert (default), VerifyClientCertIfGiven
      min_version: TLS12                                # TLS12 (default) or TLS13
    basic_auth_users:
      prometheus: $2y$10$...                            # bcrypt hash (htpasswd -nBC 10 "" | tr -d ':\\n')

Passwords are stored only as bcrypt hashes. A check costs tens of milliseconds of CPU by design, so it runs in
a worker thread and a successful (user, password) pair is remembered by its SHA-256 for the life of the
config (exporter-toolkit does the same); an unknown user is checked against a dummy hash of the configured
hashes' cost so that the reply time does not tell which users exist. Problems are reported with file, line and
key like site.yaml's.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import concurrent.futures
import hashlib
import ssl
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .yamlread import ConfigError, Problem, YamlReader, compose_yaml, read_text

_TOP = ("tls_server_config", "basic_auth_users", "http_server_config")
_TLS = ("cert_file", "key_file", "client_ca_file", "client_auth_type", "min_version", "max_version",
        "cipher_suites", "prefer_server_cipher_suites", "curve_preferences")
_CLIENT_AUTH = {
    "NoClientCert": ssl.CERT_NONE,
    "RequestClientCert": ssl.CERT_OPTIONAL,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
_VERSIONS = {"TLS12": ssl.TLSVersion.TLSv1_2, "TLS13": ssl.TLSVersion.TLSv1_3}


@dataclass(frozen=True)
class TlsConfig:
    cert_file: Path
    key_file: Path
    client_ca_file: Path | None = None
    client_auth_type: str = "NoClientCert"
    min_version: str = "TLS12"

    def context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = _VERSIONS[self.min_version]
        ctx.load_cert_chain(str(self.cert_file), str(self.key_file))
        ctx.verify_mode = _CLIENT_AUTH[self.client_auth_type]
        if self.client_ca_file is not None:
            ctx.load_verify_locations(cafile=str(self.client_ca_file))
        return ctx


@dataclass
class WebConfig:
    path: Path | None = None
    tls: TlsConfig | None = None
    users: dict[str, bytes] = field(default_factory=dict)  # user -> bcrypt hash
    _verified: set[bytes] = field(default_factory=set)
    _dummy: dict[bytes, bytes] = field(default_factory=dict)  # bcrypt cost -> a hash of that cost
    _checking: int = 0  # uncached password checks running or waiting (bounded: see authorized())

    @property
    def auth_required(self) -> bool:
        return bool(self.users)

    def reset_cache(self) -> None:
        self._verified.clear()

    async def authorized(self, header: str | None) -> bool:
        """Whether an ``Authorization`` header carries a configured user's password (always True without users)."""
        if not self.users:
            return True
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, sep, password = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return False
        if not sep:
            return False
        key = hashlib.sha256(f"{len(user)}:{user}:{password}".encode()).digest()
        if key in self._verified:
            return True
        if self._checking >= MAX_CHECKS_WAITING:
            # A flood of wrong passwords: each costs a bcrypt (~0.1-1 s of CPU). Beyond this many at once the
            # rest are refused without one, so they cannot starve the polling or a good scrape, whose
            # credentials are cached after their first check and never wait here.
            return False
        self._checking += 1
        try:
            hashed = self.users.get(user)
            loop = asyncio.get_running_loop()
            # An unknown user is checked against a hash of the same cost as the configured ones: it takes as
            # long as a known user with a wrong password (a cost-10 dummy next to cost-14 hashes told which
            # user names exist, 60 ms against 940 ms).
            against = hashed if hashed is not None else await loop.run_in_executor(_BCRYPT, self._dummy_hash)
            ok = await loop.run_in_executor(_BCRYPT, _checkpw, password.encode(), against)
        finally:
            self._checking -= 1
        ok = ok and hashed is not None
        if ok:
            if len(self._verified) > 1024:  # bounded: a cache, not a record
                self._verified.clear()
            self._verified.add(key)
        return ok


    def _dummy_hash(self) -> bytes:
        """A hash, of a random password, with the highest cost among the configured users' hashes."""
        cost = max((h[4:6] for h in self.users.values()), default=b"10")
        dummy = self._dummy.get(cost)
        if dummy is None:
            import secrets

            import bcrypt

            try:
                rounds = int(cost)
            except ValueError:
                rounds = 10
            dummy = self._dummy[cost] = bcrypt.hashpw(secrets.token_bytes(16), bcrypt.gensalt(rounds=rounds))
        return dummy


# Password checks run on two threads of their own, never on the default executor that other work shares.
_BCRYPT = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="farmwatch-bcrypt")
MAX_CHECKS_WAITING = 8


def _checkpw(password: bytes, hashed: bytes) -> bool:
    import bcrypt

    try:
        return bool(bcrypt.checkpw(password, hashed))
    except ValueError:  # malformed hash: never a match
        return False


def _hash_ok(value: bytes) -> bool:
    return value.startswith((b"$2a$", b"$2b$", b"$2y$")) and len(value) == 60


def _tls(y: YamlReader, node: yaml.Node, base: Path) -> TlsConfig | None:
    m = y.mapping(node, "tls_server_config", _TLS)
    if m is None:
        return None
    before = len(y.problems)
    paths: dict[str, Path | None] = {}
    for key in ("cert_file", "key_file", "client_ca_file"):
        if key not in m:
            paths[key] = None
            continue
        text = y.string(m[key], f"tls_server_config.{key}")
        if text is None:
            continue
        path = Path(text) if Path(text).is_absolute() else base / text
        if not path.is_file():
            y.add(m[key], f"tls_server_config.{key}", f"{path} does not exist or is not a file")
        paths[key] = path
    for key in ("cert_file", "key_file"):
        if key not in m:
            y.add(node, f"tls_server_config.{key}", "is required when tls_server_config is set")
    auth = (y.choice(m["client_auth_type"], "tls_server_config.client_auth_type", tuple(_CLIENT_AUTH),
                     "client_auth_type") if "client_auth_type" in m else "NoClientCert")
    version = (y.choice(m["min_version"], "tls_server_config.min_version", tuple(_VERSIONS), "TLS version")
               if "min_version" in m else "TLS12")
    if auth in ("VerifyClientCertIfGiven", "RequireAndVerifyClientCert") and paths.get("client_ca_file") is None:
        y.add(node, "tls_server_config.client_ca_file", f"is required with client_auth_type {auth}")
    if len(y.problems) > before or auth is None or version is None:
        return None
    cert, key_path = paths["cert_file"], paths["key_file"]
    assert cert is not None and key_path is not None
    tls = TlsConfig(cert, key_path, paths.get("client_ca_file"), auth, version)
    try:
        tls.context()
    except (ssl.SSLError, OSError) as e:
        y.add(node, "tls_server_config", f"certificate and key do not load: {e}")
        return None
    return tls


def load_web_config(path: str | Path) -> WebConfig:
    """Read and check a web config file; raises ConfigError with every problem (file, line, key)."""
    p = Path(path)
    file = str(p)
    text, problems = read_text(p, file)
    if text is None:
        raise ConfigError(problems)
    root, problems = compose_yaml(text, file)
    if problems:
        raise ConfigError(problems)
    if root is None:
        return WebConfig(path=p)
    y = YamlReader(file)
    top = y.mapping(root, "", _TOP)
    if top is None:
        raise ConfigError(y.problems)
    tls = _tls(y, top["tls_server_config"], p.parent) if "tls_server_config" in top else None
    users: dict[str, bytes] = {}
    if "basic_auth_users" in top:
        node = top["basic_auth_users"]
        if isinstance(node, yaml.MappingNode):
            for knode, vnode in node.value:
                user = str(knode.value)
                value = str(getattr(vnode, "value", "")).encode()
                if not _hash_ok(value):
                    # Never echo the value: it might be a plain-text password written by mistake.
                    y.add(vnode, f"basic_auth_users.{user}", "is not a bcrypt hash ($2y$..., 60 characters); "
                          "store hashes, never passwords (htpasswd -nBC 10 USER)")
                    continue
                users[user] = value
        elif not (isinstance(node, yaml.ScalarNode) and node.value in ("", "null", "~")):
            y.add(node, "basic_auth_users", "must be a mapping of user: bcrypt hash")
    if y.problems:
        raise ConfigError(y.problems)
    return WebConfig(path=p, tls=tls, users=users)


__all__ = ["Problem", "TlsConfig", "WebConfig", "load_web_config"]
