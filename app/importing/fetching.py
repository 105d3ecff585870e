"""Fetching images named by URL, without letting a URL reach inside the network.

Only http and https. The host is resolved first and every address it resolves to must be a
public one (not loopback, private, shared, link-local, multicast, reserved or unspecified), unless the
host is in IMPORTER_FETCH_ALLOW_HOSTS; the connection then goes to the address that was checked
(so a second DNS answer cannot differ), and each redirect is checked the same way. A time limit on
the whole fetch, a size cap and a check that the answer is an image complete it. A refusal is a
message, never an exception, so that one bad URL costs only its image.
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from app.importing.media import content_type
from app.storage import UploadStorage

MAX_REDIRECTS = 3


@dataclass(frozen=True)
class FetchPolicy:
    allow_hosts: frozenset[str] = frozenset()
    timeout_seconds: float = 10.0
    max_bytes: int = 20 * 1024**2


@dataclass(frozen=True)
class Fetched:
    sha256: str
    content_type: str
    size: int
    storage_key: str


class Refused(Exception):
    """Why one URL is not fetched; its message ends up on a warning."""


class _Connections:
    """The sockets a client has opened, named by httpcore's trace extension, so that a fetch past its time can
    be cut short: httpx's timeout bounds each read, and a server sending a byte just within it, headers and
    body alike, would hold the worker for as long as it liked."""

    def __init__(self) -> None:
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def trace(self, event: str, info: dict[str, Any]) -> None:
        if event not in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            return
        opened = info["return_value"].get_extra_info("socket")
        if isinstance(opened, socket.socket):
            with self._lock:
                self._sockets = [each for each in self._sockets if each.fileno() != -1] + [opened]

    def cut(self) -> None:
        """Shut every open connection down; a read waiting on one ends at once (the fetch is refused)."""
        with self._lock:
            for each in self._sockets:
                try:
                    each.shutdown(socket.SHUT_RDWR)
                except OSError:  # closed already, or handed to TLS
                    continue


@dataclass
class FetchClient:
    """An httpx client (one per chunk, its connections kept alive between images) and the sockets it opened."""

    http: httpx.Client
    connections: _Connections = field(default_factory=_Connections)

    def close(self) -> None:
        self.http.close()


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip.sixtofour is not None:  # 2002::/16 carries an IPv4 address, which must be public too
            if not _public(str(ip.sixtofour)):
                return False
        elif ip.is_site_local:  # fec0::/10, the deprecated IPv6 private range
            return False
    # is_global also leaves out what is neither private nor public, such as 100.64.0.0/10 (shared address
    # space: carrier NAT, overlay networks, and some clouds' metadata service at 100.100.100.200).
    return ip.is_global and not (
        ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast or ip.is_reserved or ip.is_unspecified
    )


def checked_address(url: str, policy: FetchPolicy) -> tuple[str, str, int, str]:
    """(scheme, host, port, address to connect to) once the URL passes every rule."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise Refused(f"only http and https URLs are fetched, not '{parts.scheme or url}'")
    host = (parts.hostname or "").lower()
    if not host:
        raise Refused("the URL names no host")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise Refused(f"the host '{host}' cannot be resolved ({error})") from None
    addresses = sorted({str(answer[4][0]) for answer in answers})
    if host not in policy.allow_hosts:
        for address in addresses:
            if not _public(address):
                raise Refused(f"'{host}' resolves to {address}, an internal address, which is never fetched")
    return parts.scheme, host, port, addresses[0]


def _request(client: FetchClient, url: str, policy: FetchPolicy) -> httpx.Response:
    scheme, host, port, address = checked_address(url, policy)
    parts = urlsplit(url)
    target = f"{scheme}://{'[' + address + ']' if ':' in address else address}:{port}{parts.path or '/'}"
    if parts.query:
        target += "?" + parts.query
    request = client.http.build_request("GET", target, headers={"Host": parts.netloc.rsplit("@", 1)[-1]})
    request.extensions["trace"] = client.connections.trace
    if scheme == "https":
        request.extensions["sni_hostname"] = host
    return client.http.send(request, stream=True)


def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    body = bytearray()
    for block in response.iter_bytes():
        body += block
        if len(body) > max_bytes:
            raise Refused(f"the image is larger than the limit of {max_bytes} bytes (IMPORTER_FETCH_MAX_BYTES)")
    return bytes(body)


def fetch_image(client: FetchClient, url: str, policy: FetchPolicy, assets: UploadStorage) -> Fetched:
    """Download one image into asset storage, kept once per content, within IMPORTER_FETCH_TIMEOUT_SECONDS from
    its first connection to its last byte, redirects included; Refused says why not."""
    deadline = threading.Timer(policy.timeout_seconds, client.connections.cut)
    deadline.daemon = True
    started = time.monotonic()
    deadline.start()
    try:
        body, media = _download(client, url, policy)
    except Refused:
        # Told by the time, not by the timer: the cut connection's error can arrive before the timer says it ran.
        if time.monotonic() - started >= policy.timeout_seconds:
            raise Refused(
                f"the image took longer than {policy.timeout_seconds:g} seconds (IMPORTER_FETCH_TIMEOUT_SECONDS)"
            ) from None
        raise
    finally:
        deadline.cancel()
    sha = hashlib.sha256(body).hexdigest()
    key = f"asset-{sha}"
    if not assets.exists(key):
        writer = assets.create(key)
        writer.write(body)
        writer.close()
    return Fetched(sha, media, len(body), key)


def _download(client: FetchClient, url: str, policy: FetchPolicy) -> tuple[bytes, str]:
    """The image's bytes and detected type, following redirects."""
    for _ in range(MAX_REDIRECTS + 1):
        try:
            response = _request(client, url, policy)
        except httpx.HTTPError as error:
            raise Refused(f"the image could not be fetched: {type(error).__name__}") from None
        try:
            if response.is_redirect:
                url = urljoin(url, response.headers.get("location", ""))
                continue
            if response.status_code != 200:
                raise Refused(f"the image URL answered HTTP {response.status_code}")
            declared = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if not declared.startswith("image/"):
                raise Refused(f"the URL answered '{declared or 'no content type'}', not an image")
            body = _read_capped(response, policy.max_bytes)
        except httpx.HTTPError as error:
            raise Refused(f"the image could not be fetched: {type(error).__name__}") from None
        finally:
            response.close()
        detected = content_type(body[:512])
        if not detected.startswith("image/"):
            raise Refused(f"the URL's bytes are not an image (they look like {detected})")
        return body, detected
    raise Refused(f"the image URL redirected more than {MAX_REDIRECTS} times")


def make_client(policy: FetchPolicy) -> FetchClient:
    return FetchClient(httpx.Client(timeout=policy.timeout_seconds, follow_redirects=False, trust_env=False))
