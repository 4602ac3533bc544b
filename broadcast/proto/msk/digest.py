"""HTTP Digest access authentication (RFC 7616), sans-IO, for the MSK request (TS 33.246
6.2.1.3, 6.3.2.2.1; profile.md "Transport").

Both sides of the exchange, with ``now_unix``/``rand`` injected:

* header parsing — :func:`parse_challenges` (``WWW-Authenticate``), :func:`parse_authorization`
  (``Authorization``), :func:`parse_auth_info` (``Authentication-Info``): RFC 7235 auth-params,
  bounded in length and count; every malformed header raises :class:`DigestError`;
* the digest itself — :func:`request_digest` (RFC 7616 §3.4.1, qop=auth, MD5 or SHA-256, not the
  ``-sess`` variants) and :func:`rspauth` (§3.5, the A2 of the response has an empty method);
* the server's nonces — :class:`NonceManager`: self-authenticating nonces (issue time, random,
  HMAC), a lifetime after which a correct answer gets ``stale=true`` (§3.3), and per nonce the
  highest nonce-count seen: every request must use a higher one (a replay is refused);
* :class:`DigestServer` — verify an ``Authorization`` header against a password lookup and build
  ``WWW-Authenticate`` challenges and the ``Authentication-Info`` of a success;
* :func:`build_authorization` — the client's answer.

Responses and nonce MACs compare constant-time (``hmac.compare_digest``). No password, HA1 or
key appears in an error text.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from broadcast import profile
from broadcast.proto.msk.errors import DigestError
from broadcast.time import Rand, UnixS

#: Longest header value parsed, most auth-params per challenge / credentials.
MAX_HEADER_LEN: Final = 4096
MAX_PARAMS: Final = 32
MAX_CHALLENGES: Final = 8

HASHES: Final[dict[str, Callable[[bytes], hashlib._Hash]]] = {
    "MD5": hashlib.md5,
    "SHA-256": hashlib.sha256,
}
_HEX_LEN: Final = {"MD5": 32, "SHA-256": 64}

_TCHAR: Final = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)
_OWS: Final = " \t"
_TOKEN_RE: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: RFC 7230 quoted-string without obs-text: qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E.
_QUOTED_RE: Final = re.compile(r'"((?:[\t \x21\x23-\x5b\x5d-\x7e]|\\[\t \x21-\x7e])*)"')
_UNESCAPE_RE: Final = re.compile(r"\\(.)")
_HEXDIGITS: Final = frozenset("0123456789abcdefABCDEF")
# The common shape of an Authorization header, matched whole by one regex (the fast path of
# parse_authorization): "Digest" 1*SP auth-param *(OWS "," OWS auth-param) OWS. Anything else
# (empty list elements, errors) goes to the scanner, which accepts a superset of this shape with
# the same result and produces the located error.
_TCHARS: Final = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
# quoted-string content, unrolled (qdtext runs, then quoted-pairs each followed by a run): the
# same language as _QUOTED_RE, without one alternation per character.
_QDTEXT_RUN: Final = r"[\t \x21\x23-\x5b\x5d-\x7e]*"
_QINNER: Final = rf"{_QDTEXT_RUN}(?:\\[\t \x21-\x7e]{_QDTEXT_RUN})*"
_PARAM: Final = rf'{_TCHARS}[ \t]*=[ \t]*(?:"{_QINNER}"|{_TCHARS})'
_FAST_AUTH_RE: Final = re.compile(
    rf"[ \t]*[Dd][Ii][Gg][Ee][Ss][Tt][ \t]+({_PARAM}(?:[ \t]*,[ \t]*{_PARAM})*)[ \t]*"
)
_FAST_PARAM_RE: Final = re.compile(rf'({_TCHARS})[ \t]*=[ \t]*(?:"({_QINNER})"|({_TCHARS}))')

# --- header syntax (RFC 7235 §2.1, RFC 7230 §3.2.6) -------------------------------------------


class _Scanner:
    def __init__(self, text: str, what: str) -> None:
        if not isinstance(text, str):
            raise DigestError(f"{what} is not text", field=what, http_status=400)
        if len(text) > MAX_HEADER_LEN:
            raise DigestError(
                f"{what} longer than {MAX_HEADER_LEN} characters", field=what, http_status=400
            )
        self.s = text
        self.i = 0
        self.what = what

    def fail(self, message: str) -> DigestError:
        return DigestError(message, field=self.what, offset=self.i, http_status=400)

    def at_end(self) -> bool:
        return self.i >= len(self.s)

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def skip_ows(self) -> None:
        while self.i < len(self.s) and self.s[self.i] in _OWS:
            self.i += 1

    def token(self) -> str:
        m = _TOKEN_RE.match(self.s, self.i)
        if m is None:
            raise self.fail("expected a token")
        self.i = m.end()
        return m.group()

    def quoted(self) -> str:
        assert self.peek() == '"'
        m = _QUOTED_RE.match(self.s, self.i)
        if m is None:
            raise self.fail("malformed quoted-string (unterminated, control or non-ASCII)")
        self.i = m.end()
        inner = m.group(1)
        return _UNESCAPE_RE.sub(r"\1", inner) if "\\" in inner else inner

    def value(self) -> str:
        return self.quoted() if self.peek() == '"' else self.token()


def _parse_param_list(
    sc: _Scanner, params: dict[str, str], *, stop_at_scheme: bool
) -> tuple[str | None, bool]:
    """Read ``name=value`` items separated by commas into ``params``.

    Returns (the next scheme token, whether one was found) when ``stop_at_scheme``: a token not
    followed by ``=`` starts the next challenge.
    """
    first = True
    while True:
        sc.skip_ows()
        if sc.at_end():
            return None, False
        if not first:
            if sc.peek() != ",":
                raise sc.fail("expected ',' between auth-params")
            while sc.peek() == ",":  # RFC 7230 §7: empty list elements are allowed
                sc.i += 1
                sc.skip_ows()
            if sc.at_end():
                return None, False
        first = False
        mark = sc.i
        name = sc.token()
        sc.skip_ows()
        if sc.peek() != "=":
            if stop_at_scheme:
                sc.i = mark
                return sc.token(), True
            raise sc.fail(f"auth-param {name!r} has no value")
        sc.i += 1
        sc.skip_ows()
        value = sc.value()
        key = name.lower()
        if key in params:
            raise sc.fail(f"auth-param {key!r} appears twice")
        if len(params) >= MAX_PARAMS:
            raise sc.fail(f"more than {MAX_PARAMS} auth-params")
        params[key] = value


def parse_challenges(header: str) -> list[tuple[str, dict[str, str]]]:
    """``WWW-Authenticate`` value -> [(scheme lower-cased, {param: value})] (RFC 7235 §4.1)."""
    sc = _Scanner(header, "WWW-Authenticate")
    out: list[tuple[str, dict[str, str]]] = []
    sc.skip_ows()
    while sc.peek() == ",":
        sc.i += 1
        sc.skip_ows()
    if sc.at_end():
        raise sc.fail("no challenge")
    scheme: str | None = sc.token()
    while scheme is not None:
        if len(out) >= MAX_CHALLENGES:
            raise sc.fail(f"more than {MAX_CHALLENGES} challenges")
        params: dict[str, str] = {}
        if sc.peek() not in ("", ",") and sc.peek() not in _OWS:
            raise sc.fail("expected a space after the auth-scheme")
        sc.skip_ows()
        if sc.peek() == ",":  # a scheme without params, then the next challenge
            sc.i += 1
            sc.skip_ows()
            out.append((scheme.lower(), params))
            scheme = None if sc.at_end() else sc.token()
            continue
        nxt, found = _parse_param_list(sc, params, stop_at_scheme=True)
        out.append((scheme.lower(), params))
        scheme = nxt if found else None
    return out


@dataclass(frozen=True, slots=True)
class DigestCredentials:
    """The fields of a Digest ``Authorization`` header (qop=auth)."""

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str
    qop: str
    nc: int
    nc_text: str
    cnonce: str
    opaque: str | None


def _fast_authorization_params(header: str) -> dict[str, str] | None:
    """The auth-params of a header of the common shape (one regex), or None: use the scanner."""
    whole = _FAST_AUTH_RE.fullmatch(header)
    if whole is None:
        return None
    params: dict[str, str] = {}
    # A token is never empty, so an empty third group means the value was a quoted-string.
    for name, quoted, token in _FAST_PARAM_RE.findall(header, whole.start(1), whole.end(1)):
        key = name.lower()
        if key in params or len(params) >= MAX_PARAMS:
            return None  # the scanner raises the located error
        if token:
            params[key] = token
        else:
            params[key] = _UNESCAPE_RE.sub(r"\1", quoted) if "\\" in quoted else quoted
    return params


def _authorization_params(header: str) -> dict[str, str]:
    sc = _Scanner(header, "Authorization")  # type and length checks first
    fast = _fast_authorization_params(header)
    if fast is not None:
        return fast
    sc.skip_ows()
    scheme = sc.token()
    if scheme.lower() != "digest":
        raise DigestError(f"auth-scheme {scheme[:16]!r} is not Digest", field="Authorization")
    if sc.peek() not in _OWS or sc.at_end():
        raise sc.fail("expected a space and auth-params after Digest")
    params: dict[str, str] = {}
    _parse_param_list(sc, params, stop_at_scheme=False)
    return params


def parse_authorization(header: str) -> DigestCredentials:
    """Parse ``Authorization: Digest ...`` (RFC 7616 §3.4). DigestError: 400 for bad syntax, 401
    for a well-formed header this server cannot accept (other scheme, algorithm, qop, userhash)."""
    params = _authorization_params(header)

    def need(name: str) -> str:
        v = params.get(name)
        if v is None:
            raise DigestError(f"Digest {name} missing", field=name, http_status=400)
        return v

    if "username*" in params:
        raise DigestError("username* (RFC 5987) is not supported", field="username*")
    if params.get("userhash", "false").lower() != "false":
        raise DigestError("userhash is not supported", field="userhash")
    algorithm = params.get("algorithm", "MD5")
    canonical = algorithm.upper()
    if canonical not in HASHES:
        raise DigestError(f"algorithm {algorithm[:24]!r} is not supported", field="algorithm")
    qop = need("qop")
    if qop.lower() != profile.DIGEST_QOP:
        raise DigestError(f"qop {qop[:16]!r} is not supported (auth only)", field="qop")
    nc_text = need("nc")
    if len(nc_text) != 8 or not set(nc_text) <= _HEXDIGITS:
        raise DigestError("nc must be 8 hex digits", field="nc", http_status=400)
    response = need("response").lower()
    if len(response) != _HEX_LEN[canonical] or not set(response) <= _HEXDIGITS:
        raise DigestError(
            f"response must be {_HEX_LEN[canonical]} hex digits for {canonical}",
            field="response",
            http_status=400,
        )
    cnonce = need("cnonce")
    if not cnonce:
        raise DigestError("cnonce is empty", field="cnonce", http_status=400)
    return DigestCredentials(
        username=need("username"),
        realm=need("realm"),
        nonce=need("nonce"),
        uri=need("uri"),
        response=response,
        algorithm=canonical,
        qop=profile.DIGEST_QOP,
        nc=int(nc_text, 16),
        nc_text=nc_text.lower(),
        cnonce=cnonce,
        opaque=params.get("opaque"),
    )


def parse_auth_info(header: str) -> dict[str, str]:
    """``Authentication-Info`` value -> {param: value} (RFC 7615 §3)."""
    sc = _Scanner(header, "Authentication-Info")
    params: dict[str, str] = {}
    _parse_param_list(sc, params, stop_at_scheme=False)
    return params


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- the digest (RFC 7616 §3.4.1-§3.4.3, §3.5) -------------------------------------------------


def _h(algorithm: str, data: str) -> str:
    return HASHES[algorithm](data.encode("utf-8")).hexdigest()


def _ha1(algorithm: str, username: str, realm: str, password: str) -> str:
    return _h(algorithm, f"{username}:{realm}:{password}")


def _kd(
    algorithm: str,
    ha1: str,
    *,
    method: str,
    uri: str,
    nonce: str,
    nc_text: str,
    cnonce: str,
    qop: str,
) -> str:
    """KD(H(A1), nonce:nc:cnonce:qop:H(A2)) with A2 = method:uri (RFC 7616 §3.4.1)."""
    ha2 = _h(algorithm, f"{method}:{uri}")
    return _h(algorithm, f"{ha1}:{nonce}:{nc_text}:{cnonce}:{qop}:{ha2}")


def request_digest(
    *,
    algorithm: str,
    username: str,
    realm: str,
    password: str,
    method: str,
    uri: str,
    nonce: str,
    nc_text: str,
    cnonce: str,
    qop: str = profile.DIGEST_QOP,
) -> str:
    """The ``response`` value: KD(H(A1), nonce:nc:cnonce:qop:H(A2)) with A2 = method:uri."""
    ha1 = _ha1(algorithm, username, realm, password)
    return _kd(
        algorithm, ha1, method=method, uri=uri, nonce=nonce, nc_text=nc_text, cnonce=cnonce, qop=qop
    )


def rspauth(
    *,
    algorithm: str,
    username: str,
    realm: str,
    password: str,
    uri: str,
    nonce: str,
    nc_text: str,
    cnonce: str,
    qop: str = profile.DIGEST_QOP,
) -> str:
    """``rspauth`` of Authentication-Info (RFC 7616 §3.5): as the response with method ''."""
    return request_digest(
        algorithm=algorithm,
        username=username,
        realm=realm,
        password=password,
        method="",
        uri=uri,
        nonce=nonce,
        nc_text=nc_text,
        cnonce=cnonce,
        qop=qop,
    )


def build_authorization(
    *,
    algorithm: str,
    username: str,
    realm: str,
    password: str,
    method: str,
    uri: str,
    nonce: str,
    nc: int,
    cnonce: str,
    opaque: str | None = None,
) -> str:
    """A client's ``Authorization`` header value for one request."""
    nc_text = f"{nc:08x}"
    response = request_digest(
        algorithm=algorithm,
        username=username,
        realm=realm,
        password=password,
        method=method,
        uri=uri,
        nonce=nonce,
        nc_text=nc_text,
        cnonce=cnonce,
    )
    parts = [
        f"username={_quote(username)}",
        f"realm={_quote(realm)}",
        f"uri={_quote(uri)}",
        f"algorithm={algorithm}",
        f"nonce={_quote(nonce)}",
        f"nc={nc_text}",
        f"cnonce={_quote(cnonce)}",
        f"qop={profile.DIGEST_QOP}",
        f"response={_quote(response)}",
    ]
    if opaque is not None:
        parts.append(f"opaque={_quote(opaque)}")
    return "Digest " + ", ".join(parts)


# --- server-side nonces ---------------------------------------------------------------------

_NONCE_TIME_LEN: Final = 8
_NONCE_RAND_LEN: Final = 12
_NONCE_MAC_LEN: Final = 16
_NONCE_RAW_LEN: Final = _NONCE_TIME_LEN + _NONCE_RAND_LEN + _NONCE_MAC_LEN
#: Random bytes drawn at once for the random parts of nonces (one system call per 340 nonces).
_NONCE_POOL_LEN: Final = 340 * _NONCE_RAND_LEN


@dataclass(slots=True)
class _NonceUse:
    issued_ms: int
    last_nc: int


class NonceManager:
    """Self-authenticating nonces: base64url(issue time ms (8) || random (12) || HMAC (16)).

    A nonce is accepted while ``now_unix < issue + lifetime``; after that a correct answer is
    ``stale``. For every nonce in use the highest nonce-count is kept; a request must carry a
    higher one. At most ``max_tracked`` nonces are tracked: when full, the entry first used
    longest ago is dropped and every nonce issued at or before its issue time becomes stale (so
    a dropped entry can never be replayed).
    """

    def __init__(
        self,
        *,
        secret: bytes | None = None,
        lifetime_s: float = 300.0,
        max_tracked: int = 100_000,
        rand: Rand = os.urandom,
    ) -> None:
        if lifetime_s <= 0 or max_tracked <= 0:
            raise ValueError("nonce lifetime and max_tracked must be positive")
        self._secret = secret if secret is not None else rand(32)
        self._lifetime_ms = int(lifetime_s * 1000)
        self._max = max_tracked
        self._rand = rand
        self._pool = b""
        self._pool_at = 0
        self._used: OrderedDict[str, _NonceUse] = OrderedDict()
        self._watermark_ms = -1
        raw = hmac.new(self._secret, b"opaque", hashlib.sha256).digest()[:12]
        self._opaque = base64.urlsafe_b64encode(raw).decode("ascii")

    def _mac(self, body: bytes) -> bytes:
        # hmac.new, not the one-shot hmac.digest: it keeps the GIL for a 25-byte input instead
        # of handing the event loop thread's turn to another thread.
        return hmac.new(self._secret, b"nonce" + body, hashlib.sha256).digest()[:_NONCE_MAC_LEN]

    def _random_part(self) -> bytes:
        at = self._pool_at
        if at + _NONCE_RAND_LEN > len(self._pool):
            pool = self._rand(_NONCE_POOL_LEN)
            if len(pool) != _NONCE_POOL_LEN:
                raise RuntimeError("the random source returned the wrong length")
            self._pool, at = pool, 0
        self._pool_at = at + _NONCE_RAND_LEN
        return self._pool[at : at + _NONCE_RAND_LEN]

    def opaque(self) -> str:
        """The ``opaque`` this server hands out (constant per secret)."""
        return self._opaque

    def issue(self, now_unix: UnixS) -> str:
        body = int(now_unix * 1000).to_bytes(_NONCE_TIME_LEN, "big") + self._random_part()
        return base64.urlsafe_b64encode(body + self._mac(body)).decode("ascii")

    def issued_ms(self, nonce: str) -> int:
        """Authenticate a nonce and return its issue time; DigestError(401) if not ours."""
        try:
            raw = base64.urlsafe_b64decode(nonce.encode("ascii")) if len(nonce) == 48 else b""
        except (ValueError, UnicodeError):
            raw = b""
        if len(raw) != _NONCE_RAW_LEN or not hmac.compare_digest(
            self._mac(raw[:-_NONCE_MAC_LEN]), raw[-_NONCE_MAC_LEN:]
        ):
            raise DigestError("unknown nonce", field="nonce")
        return int.from_bytes(raw[:_NONCE_TIME_LEN], "big")

    def is_stale(self, issued_ms: int, now_unix: UnixS) -> bool:
        return (
            issued_ms <= self._watermark_ms or int(now_unix * 1000) >= issued_ms + self._lifetime_ms
        )

    def consume(self, nonce: str, issued_ms: int, nc: int, now_unix: UnixS) -> None:
        """Record ``nc`` for ``nonce``; DigestError(stale) when expired, 401 when replayed."""
        if self.is_stale(issued_ms, now_unix):
            raise DigestError("nonce expired", field="nonce", stale=True)
        use = self._used.get(nonce)
        if use is not None and nc <= use.last_nc:
            raise DigestError(f"nonce-count {nc:08x} already used", field="nc")
        if nc < 1:
            raise DigestError("nonce-count must start at 1", field="nc")
        if use is None:
            self._purge(now_unix)
            self._used[nonce] = _NonceUse(issued_ms, nc)
        else:
            use.last_nc = nc

    def _purge(self, now_unix: UnixS) -> None:
        now_ms = int(now_unix * 1000)
        if len(self._used) < self._max:
            return
        for key in [k for k, u in self._used.items() if now_ms >= u.issued_ms + self._lifetime_ms]:
            del self._used[key]
        while len(self._used) >= self._max:
            _, dropped = self._used.popitem(last=False)
            self._watermark_ms = max(self._watermark_ms, dropped.issued_ms)

    @property
    def tracked(self) -> int:
        return len(self._used)


# --- server ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DigestSuccess:
    """A verified request: who, and the ``Authentication-Info`` to send back."""

    credentials: DigestCredentials
    authentication_info: str


class DigestServer:
    """Verify Digest ``Authorization`` headers for one realm (RFC 7616 §3.3-§3.5)."""

    def __init__(
        self, realm: str, nonces: NonceManager, *, algorithms: tuple[str, ...] = ()
    ) -> None:
        self.realm = realm
        self.nonces = nonces
        self.algorithms = algorithms or profile.DIGEST_ALGORITHMS
        for a in self.algorithms:
            if a not in HASHES:
                raise ValueError(f"unsupported Digest algorithm {a!r}")

    def challenges(self, now_unix: UnixS, *, stale: bool = False) -> list[str]:
        """One ``WWW-Authenticate`` value per algorithm (preferred first), one fresh nonce."""
        nonce = self.nonces.issue(now_unix)
        opaque = self.nonces.opaque()
        tail = ", stale=true" if stale else ""
        return [
            f'Digest realm={_quote(self.realm)}, qop="{profile.DIGEST_QOP}", '
            f"algorithm={a}, nonce={_quote(nonce)}, opaque={_quote(opaque)}{tail}"
            for a in self.algorithms
        ]

    def verify(
        self,
        header: str,
        *,
        method: str,
        uri: str,
        now_unix: UnixS,
        password_of: Callable[[str], str | None],
    ) -> DigestSuccess:
        """Check ``header`` for a request ``method uri``; ``password_of(username)`` gives the
        password or None (unknown user). Raises DigestError (400/401, maybe stale)."""
        creds = parse_authorization(header)
        if creds.algorithm not in self.algorithms:
            raise DigestError(f"algorithm {creds.algorithm} is not offered", field="algorithm")
        if not hmac.compare_digest(creds.realm.encode(), self.realm.encode()):
            raise DigestError("unknown realm", field="realm")
        if creds.uri != uri:
            raise DigestError("uri does not match the request target", field="uri", http_status=400)
        if creds.opaque is not None and not hmac.compare_digest(
            creds.opaque.encode(), self.nonces.opaque().encode()
        ):
            raise DigestError("opaque does not match", field="opaque")
        issued = self.nonces.issued_ms(creds.nonce)
        password = password_of(creds.username)
        # Compute a digest even for an unknown user, so that timing does not tell users apart.
        alg = creds.algorithm
        ha1 = _ha1(
            alg,
            creds.username,
            self.realm,
            password if password is not None else "\x00unknown-user",
        )
        fields = {
            "uri": creds.uri,
            "nonce": creds.nonce,
            "nc_text": creds.nc_text,
            "cnonce": creds.cnonce,
            "qop": creds.qop,
        }
        expected = _kd(alg, ha1, method=method, **fields)
        if not hmac.compare_digest(expected.encode(), creds.response.encode()) or password is None:
            raise DigestError("wrong credentials", field="response")
        self.nonces.consume(creds.nonce, issued, creds.nc, now_unix)
        # rspauth (RFC 7616 §3.5): the same H(A1), A2 with an empty method.
        auth = _kd(alg, ha1, method="", **fields)
        info = (
            f"nextnonce={_quote(self.nonces.issue(now_unix))}, qop={profile.DIGEST_QOP}, "
            f"rspauth={_quote(auth)}, cnonce={_quote(creds.cnonce)}, nc={creds.nc_text}"
        )
        return DigestSuccess(creds, info)
