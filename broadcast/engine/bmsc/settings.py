"""The settings of the BM-SC MSK procedures and of ``mbms serve`` as typed values (TS 33.246
6.3.2): BM-SC FQDN (NAF-ID) and Digest realm, key management URI, push and retransmission, the
configured Key Groups with their SRTP policy and MSK rotation.

:mod:`broadcast.config.bmsc` reads them from TOML (every key is documented there); the sans-IO
key management (:mod:`broadcast.engine.bmsc.keymgmt`) and the asyncio service use them.
:func:`validate` runs on every :class:`BmscConfig` built, so no bad combination gets past it: it
raises :class:`~broadcast.proto.errors.ConfigError` naming the table and key (the loader adds the
file). A streaming Key Group's SRTP policy (:class:`~broadcast.proto.srtp.settings.SrtpConfig`)
is what ``mbms serve`` stores with the group in the key store (``ensure_groups``): from there the
MSK messages and the stream take it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from broadcast import profile
from broadcast.proto.errors import ConfigError
from broadcast.proto.keys.ids import KeyDomainId
from broadcast.proto.mikey.srtp_policy import SrtpPolicy
from broadcast.proto.msk.errors import GbaError
from broadcast.proto.msk.gba import check_fqdn
from broadcast.proto.srtp.settings import SrtpConfig, srtp_policy


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
    #: ``[key_group.srtp]``; None: the profile's policy (streaming groups only).
    srtp: SrtpConfig | None = None

    def srtp_config(self) -> SrtpConfig | None:
        """The group's SRTP policy: streaming groups only (profile.md "CS ID map")."""
        if not self.streaming:
            return None
        return self.srtp if self.srtp is not None else SrtpConfig()

    def policy(self) -> SrtpPolicy | None:
        """:meth:`srtp_config` as the SP payload value of the MSK messages."""
        config = self.srtp_config()
        return None if config is None else srtp_policy(config)


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
    """Raise ConfigError naming the table and key of the first bad setting."""
    try:
        check_fqdn(c.fqdn)
    except GbaError as exc:
        raise ConfigError(str(exc), table="bmsc", key="fqdn") from None
    if not c.http.path.startswith("/") or any(ch in c.http.path for ch in '?# "\\'):
        raise ConfigError("must be an absolute path without query", table="http", key="path")
    _port(c.http.port, 0, "http", "port")
    _port(c.push.port, 1, "push", "port")
    _port(c.push.source_port, 0, "push", "source_port")
    _port(c.admin.port, 0, "admin", "port")
    if c.admin.port and not _is_loopback(c.admin.listen):
        raise ConfigError("must be a loopback address", table="admin", key="listen")
    for key in ("max_body", "nonce_lifetime", "max_nonces"):
        _positive(getattr(c.http, key), "http", key)
    if c.rate_limit.rate < 0:
        raise ConfigError("must be >= 0 (0 = no limit)", table="rate_limit", key="rate")
    _positive(c.rate_limit.burst, "rate_limit", "burst")
    _positive(c.rate_limit.max_clients, "rate_limit", "max_clients")
    p = c.push
    if p.delay < 0:
        raise ConfigError("must be >= 0", table="push", key="delay")
    if p.backoff < 1:
        raise ConfigError("must be >= 1", table="push", key="backoff")
    for key in ("ack_timeout", "max_attempts", "batch"):
        _positive(getattr(p, key), "push", key)
    _positive(c.gba.key_lifetime, "gba", "key_lifetime")
    seen: set[int] = set()
    for i, g in enumerate(c.key_groups, 1):
        if not 0 <= g.number <= 0xFFFF:
            raise _group_error(i, "number", f"must be 0..65535 (got {g.number})")
        if g.number in seen:
            raise _group_error(i, "number", f"Key Group {g.number} is configured twice")
        seen.add(g.number)
        if g.rotation_period < 0 or g.rotation_lead < 0:
            raise _group_error(i, "rotation_period", "rotation times must be >= 0")
        if g.rotation_period and g.rotation_lead >= g.rotation_period:
            raise _group_error(
                i,
                "rotation_lead",
                f"must be < rotation_period ({g.rotation_lead:g} >= {g.rotation_period:g})",
            )
        if not profile.MTK_ID_MIN <= g.mtk_id_low <= g.mtk_id_high <= profile.MTK_ID_MAX:
            raise _group_error(
                i,
                "mtk_id_low",
                f"MTK ID range {g.mtk_id_low}..{g.mtk_id_high} is not within "
                f"{profile.MTK_ID_MIN}..{profile.MTK_ID_MAX}",
            )
        if g.srtp is not None and not g.streaming:
            raise _group_error(
                i,
                "streaming",
                f"Key Group {g.number} has an SRTP policy ([key_group.srtp]) but is not a "
                "streaming group: set streaming = true",
            )


def _group_error(item: int, key: str, message: str) -> ConfigError:
    return ConfigError(message, table="key_group", key=key, item=item)


def _port(value: int, low: int, table: str, key: str) -> None:
    if not low <= value <= 0xFFFF:
        raise ConfigError(f"must be {low}..65535 (got {value})", table=table, key=key)


def _positive(value: float, table: str, key: str) -> None:
    if not value > 0:
        raise ConfigError(f"must be positive (got {value!r})", table=table, key=key)
