"""The settings of the BM-SC MSK procedures and of ``mbms serve`` as typed values (TS 33.246
6.3.2): BM-SC FQDN (NAF-ID) and Digest realm, key management URI, push and retransmission, the
configured Key Groups with their SRTP policy and MSK rotation.

:mod:`broadcast.config.bmsc` reads them from TOML (every key is documented there); the sans-IO
key management (:mod:`broadcast.engine.bmsc.keymgmt`) and the asyncio service use them.
:func:`validate` runs on every :class:`BmscConfig` built, so no bad combination gets past it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from broadcast import profile
from broadcast.proto.keys.ids import KeyDomainId
from broadcast.proto.mikey.srtp_policy import SrtpPolicy
from broadcast.proto.msk.errors import ConfigError, GbaError
from broadcast.proto.msk.gba import check_fqdn


@dataclass(frozen=True, slots=True)
class HttpConfig:
    listen: str = "127.0.0.1"
    port: int = 8080
    path: str = profile.KEY_MANAGEMENT_PATH
    max_body: int = 16 * 1024
    nonce_lifetime: float = 300.0
    max_nonces: int = 100_000


@dataclass(frozen=True, slots=True)
class RateLimitConfig:
    rate: float = 20.0
    burst: int = 40
    max_clients: int = 100_000


@dataclass(frozen=True, slots=True)
class PushConfig:
    source: str = "127.0.0.1"
    source_port: int = 0
    port: int = profile.MIKEY_UDP_PORT
    delay: float = 0.2
    ack_required: bool = True
    ack_timeout: float = 2.0
    backoff: float = 2.0
    max_attempts: int = 4
    batch: int = 2000

    def wait_after(self, attempt: int) -> float:
        """Seconds to wait for the ACK after transmission number ``attempt`` (1-based)."""
        return self.ack_timeout * self.backoff ** (attempt - 1)


@dataclass(frozen=True, slots=True)
class AdminConfig:
    listen: str = "127.0.0.1"
    port: int = 0
    token_file: str = ""


@dataclass(frozen=True, slots=True)
class GbaConfig:
    bsf_domain: str = profile.BSF_DEFAULT_DOMAIN
    key_lifetime: int = profile.GBA_KEY_LIFETIME_S


@dataclass(frozen=True, slots=True)
class KeyGroupConfig:
    number: int
    streaming: bool = False
    rotation_period: float = 0.0
    rotation_lead: float = 30.0
    mtk_id_low: int = profile.MTK_ID_MIN
    mtk_id_high: int = profile.MTK_ID_MAX
    ack_required: bool | None = None
    srtp_policy: SrtpPolicy | None = None

    def policy(self) -> SrtpPolicy | None:
        """The SP payload policy of the MSK messages: streaming groups only (profile.md)."""
        if not self.streaming:
            return None
        return self.srtp_policy if self.srtp_policy is not None else SrtpPolicy()


@dataclass(frozen=True, slots=True)
class BmscConfig:
    fqdn: str = profile.BMSC_DEFAULT_FQDN
    realm: str = ""
    store: str = "bmsc.db"
    key_domain: KeyDomainId = field(default_factory=lambda: KeyDomainId.from_plmn("001", "01"))
    key_groups: tuple[KeyGroupConfig, ...] = (KeyGroupConfig(1),)
    http: HttpConfig = field(default_factory=HttpConfig)
    rate_limit: RateLimitConfig = field(default_factory=RateLimitConfig)
    push: PushConfig = field(default_factory=PushConfig)
    admin: AdminConfig = field(default_factory=AdminConfig)
    gba: GbaConfig = field(default_factory=GbaConfig)

    def __post_init__(self) -> None:
        validate(self)

    @property
    def digest_realm(self) -> str:
        return self.realm or self.fqdn

    def group(self, number: int) -> KeyGroupConfig | None:
        return next((g for g in self.key_groups if g.number == number), None)

    def ack_required(self, number: int) -> bool:
        g = self.group(number)
        if g is not None and g.ack_required is not None:
            return g.ack_required
        return self.push.ack_required

    @property
    def admin_token_path(self) -> str:
        return self.admin.token_file or f"{self.store}.admin-token"


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def validate(c: BmscConfig) -> None:
    """Raise ConfigError naming the first bad setting."""
    try:
        check_fqdn(c.fqdn)
    except GbaError as exc:
        raise ConfigError(f"bmsc.fqdn: {exc}") from None
    if not c.http.path.startswith("/") or any(ch in c.http.path for ch in '?# "\\'):
        raise ConfigError("http.path must be an absolute path without query")
    if not 0 <= c.http.port <= 65535:
        raise ConfigError("http.port must be 0..65535")
    if not 0 < c.push.port <= 65535:
        raise ConfigError("push.port must be 1..65535")
    if not 0 <= c.push.source_port <= 65535 or not 0 <= c.admin.port <= 65535:
        raise ConfigError("push.source_port / admin.port must be 0..65535")
    if c.admin.port and not _is_loopback(c.admin.listen):
        raise ConfigError("admin.listen must be a loopback address")
    if c.http.max_body <= 0 or c.http.nonce_lifetime <= 0 or c.http.max_nonces <= 0:
        raise ConfigError("http.max_body, nonce_lifetime and max_nonces must be positive")
    if c.rate_limit.rate < 0 or c.rate_limit.burst < 1 or c.rate_limit.max_clients < 1:
        raise ConfigError("rate_limit: rate >= 0, burst >= 1, max_clients >= 1")
    p = c.push
    if p.delay < 0 or p.ack_timeout <= 0 or p.backoff < 1 or p.max_attempts < 1 or p.batch < 1:
        raise ConfigError(
            "push: delay >= 0, ack_timeout > 0, backoff >= 1, max_attempts >= 1, batch >= 1"
        )
    if c.gba.key_lifetime <= 0:
        raise ConfigError("gba.key_lifetime must be positive")
    seen: set[int] = set()
    for g in c.key_groups:
        if not 0 <= g.number <= 0xFFFF or g.number in seen:
            raise ConfigError(f"key_group.number {g.number} invalid or repeated")
        seen.add(g.number)
        if g.rotation_period < 0 or g.rotation_lead < 0:
            raise ConfigError(f"key_group {g.number}: rotation times must be >= 0")
        if g.rotation_period and g.rotation_lead >= g.rotation_period:
            raise ConfigError(f"key_group {g.number}: rotation_lead must be < rotation_period")
        if not profile.MTK_ID_MIN <= g.mtk_id_low <= g.mtk_id_high <= profile.MTK_ID_MAX:
            raise ConfigError(f"key_group {g.number}: bad MTK ID range")
        if g.srtp_policy is not None and not g.streaming:
            raise ConfigError(f"key_group {g.number}: srtp_policy needs streaming = true")
