"""The UE's HTTP Digest state for MSK requests (RFC 7616; TS 33.246 6.2.1.3, 6.3.2.2.1).

Sans-IO: holds the last challenge (realm, algorithm, nonce, opaque) and the nonce-count, builds
the ``Authorization`` header, checks the server's ``Authentication-Info`` (``rspauth``,
constant-time) and moves to its ``nextnonce`` so that the next request is authorized without a
challenge round trip (the "pre-emptive" path of the seed's NOTE). The header syntax and digest
computations are those of :mod:`broadcast.proto.msk.digest`.
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass

from broadcast import profile
from broadcast.proto.msk.digest import (
    HASHES,
    build_authorization,
    parse_auth_info,
    parse_challenges,
    rspauth,
)
from broadcast.proto.msk.errors import DigestError
from broadcast.time import Rand


@dataclass(frozen=True, slots=True)
class Challenge:
    realm: str
    nonce: str
    algorithm: str
    opaque: str | None
    stale: bool


def choose_challenge(headers: list[str]) -> Challenge:
    """The Digest challenge to answer among ``WWW-Authenticate`` values: qop=auth, the first
    supported algorithm in the server's order (RFC 7616 §3.7). DigestError if none fits."""
    for header in headers:
        for scheme, params in parse_challenges(header):
            if scheme != "digest" or "nonce" not in params or "realm" not in params:
                continue
            algorithm = params.get("algorithm", "MD5").upper()
            qops = [q.strip().lower() for q in params.get("qop", "").split(",")]
            if algorithm in HASHES and profile.DIGEST_QOP in qops:
                return Challenge(
                    params["realm"],
                    params["nonce"],
                    algorithm,
                    params.get("opaque"),
                    params.get("stale", "false").lower() == "true",
                )
    raise DigestError("no Digest challenge with qop=auth and MD5/SHA-256", field="WWW-Authenticate")


class DigestClient:
    """Digest credentials of one UE (username = B-TID, password = base64(Ks_(ext)_NAF))."""

    def __init__(self, username: str, password: str, *, rand: Rand = os.urandom) -> None:
        self.username = username
        self._password = password
        self._rand = rand
        self._challenge: Challenge | None = None
        self._nc = 0
        self._pending: tuple[str, str, str] | None = None  # (nonce, nc text, cnonce) in flight

    def __repr__(self) -> str:
        return f"<DigestClient {self.username!r}, password redacted>"

    @property
    def has_nonce(self) -> bool:
        return self._challenge is not None

    def forget(self) -> None:
        self._challenge = None
        self._nc = 0

    def on_challenge(self, headers: list[str]) -> Challenge:
        self._challenge = choose_challenge(headers)
        self._nc = 0
        return self._challenge

    def authorization(self, method: str, uri: str) -> str:
        c = self._challenge
        if c is None:
            raise DigestError("no nonce yet: send the request without Authorization first")
        self._nc += 1
        cnonce = self._rand(12).hex()
        self._pending = (c.nonce, f"{self._nc:08x}", cnonce)
        return build_authorization(
            algorithm=c.algorithm,
            username=self.username,
            realm=c.realm,
            password=self._password,
            method=method,
            uri=uri,
            nonce=c.nonce,
            nc=self._nc,
            cnonce=cnonce,
            opaque=c.opaque,
        )

    def on_success(self, auth_info: str | None, uri: str) -> None:
        """Check ``Authentication-Info`` of a 200 (rspauth) and take its nextnonce.

        DigestError when it is missing or does not verify: the answer is not from the BM-SC
        that knows our key."""
        c, pending = self._challenge, self._pending
        if c is None or pending is None:
            raise DigestError("no request in flight", field="Authentication-Info")
        if auth_info is None:
            raise DigestError("200 without Authentication-Info", field="Authentication-Info")
        info = parse_auth_info(auth_info)
        nonce, nc_text, cnonce = pending
        expected = rspauth(
            algorithm=c.algorithm,
            username=self.username,
            realm=c.realm,
            password=self._password,
            uri=uri,
            nonce=nonce,
            nc_text=nc_text,
            cnonce=cnonce,
        )
        got = info.get("rspauth", "")
        if not hmac.compare_digest(expected.encode(), got.lower().encode()):
            raise DigestError("rspauth does not verify", field="rspauth")
        if info.get("cnonce", cnonce) != cnonce or info.get("nc", nc_text).lower() != nc_text:
            raise DigestError("Authentication-Info answers another request", field="cnonce")
        nxt = info.get("nextnonce")
        if nxt:
            self._challenge = Challenge(c.realm, nxt, c.algorithm, c.opaque, False)
            self._nc = 0
        self._pending = None
