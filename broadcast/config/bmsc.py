"""Configuration of the BM-SC MSK service (``mbms serve --config FILE``), TOML -> dataclasses.

Every table and key, with its default (``broadcast/config/examples/bmsc.toml`` is a complete
example)::

    [bmsc]
    fqdn  = "bmsc.mnc001.mcc001.pub.3gppnetwork.org"  # NAF-ID FQDN = IDi of the MUK ID
    realm = "bmsc.mnc001.mcc001.pub.3gppnetwork.org"  # Digest realm (default: fqdn)
    store = "bmsc.db"     # SQLite file: key store + BM-SC tables (relative to the TOML file)

    [key_domain]          # either id = "00F110" or mcc/mnc
    mcc = "001"
    mnc = "01"

    [http]                # the MSK request server (key management URI = http://listen:port/path)
    listen = "127.0.0.1"
    port = 8080
    path = "/keymanagement"
    max_body = 16384      # bytes; larger -> 413
    nonce_lifetime = 300  # seconds; an older nonce answered correctly -> 401 stale=true
    max_nonces = 100000   # nonces tracked for nonce-count replay

    [rate_limit]          # per client IP address, token bucket; exceeded -> 429
    rate = 20.0           # requests per second (0 = no limit)
    burst = 40
    max_clients = 100000

    [push]                # MSK push / solicited pull over UDP (MIKEY), ACKs come back here
    source = "127.0.0.1"  # local address the pushes leave from
    source_port = 0       # 0 = any
    port = 2269           # UE port (a subscription may override address and port)
    delay = 0.2           # seconds from a successful MSK request to the push (seed: not at once)
    ack_required = true   # V bit set in MSK messages (a key group may override)
    ack_timeout = 2.0     # first retransmission after this many seconds without ACK
    backoff = 2.0         # each further wait is multiplied by this
    max_attempts = 4      # transmissions before giving up (state "failed")
    batch = 2000          # deliveries sent per scheduler pass

    [admin]               # loopback-only admin endpoint for `mbms msk rotate|pull|status`
    listen = "127.0.0.1"
    port = 0              # 0 = off
    token_file = ""       # default: <store>.admin-token (written 0600 at start)

    [gba]                 # the local BSF simulator (GBA credential store in the same file)
    bsf_domain = "bsf.mnc001.mcc001.pub.3gppnetwork.org"
    key_lifetime = 604800

    [[key_group]]
    number = 1
    streaming = false     # true: MSK messages carry the SRTP policy (SP payload)
    rotation_period = 0   # seconds between MSK rotations (0 = on demand only)
    rotation_lead = 30    # the NEXT MSK is pushed this long before it becomes current
    mtk_id_low = 1        # MTK ID range of every new MSK (KV interval)
    mtk_id_high = 65535
    # ack_required = true # overrides [push] ack_required
    [key_group.srtp_policy]   # streaming groups only; omitted keys take the profile defaults
    srtp_auth_alg = "RCCm2"   # NULL | HMAC-SHA1 | RCCm1 | RCCm2 | RCCm3
    encr_alg = "AES-CM"       # NULL | AES-CM
    srtp_auth_tag_len = 10
    srtcp_auth_tag_len = 10
    roc_transmission_rate = 16
    srtp_encryption = true
    srtcp_encryption = true
    srtp_authentication = true
"""

from __future__ import annotations

import dataclasses
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from broadcast import profile
from broadcast.config.files import TomlFileError, read_toml
from broadcast.proto.keys.errors import InvalidIdentifier
from broadcast.proto.keys.ids import KeyDomainId
from broadcast.proto.mikey.constants import SrtpAuthAlg, SrtpEncrAlg
from broadcast.proto.mikey.srtp_policy import SrtpPolicy
from broadcast.proto.msk.errors import ConfigError, GbaError
from broadcast.proto.msk.gba import check_fqdn
from broadcast.store.gba_sim import DEFAULT_BSF_DOMAIN

DEFAULT_FQDN: Final = "bmsc.mnc001.mcc001.pub.3gppnetwork.org"


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
    bsf_domain: str = DEFAULT_BSF_DOMAIN
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
    fqdn: str = DEFAULT_FQDN
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


# --- TOML ------------------------------------------------------------------------------------

_AUTH_ALGS: Final = {
    "NULL": SrtpAuthAlg.NULL,
    "HMAC-SHA1": SrtpAuthAlg.HMAC_SHA1,
    "RCCM1": SrtpAuthAlg.RCCM1,
    "RCCM2": SrtpAuthAlg.RCCM2,
    "RCCM3": SrtpAuthAlg.RCCM3,
}
_ENCR_ALGS: Final = {"NULL": SrtpEncrAlg.NULL, "AES-CM": SrtpEncrAlg.AES_CM}


def _table(data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"[{name}] must be a table")
    return value


def _fill(cls: type[Any], data: dict[str, Any], where: str) -> Any:
    """Build dataclass ``cls`` from a TOML table, checking names and types."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        f = fields.get(key)
        if f is None:
            raise ConfigError(f"{where}: unknown setting {key!r}")
        default = f.default if f.default is not dataclasses.MISSING else None
        if isinstance(default, bool) and not isinstance(value, bool):
            raise ConfigError(f"{where}.{key} must be true or false")
        if isinstance(default, float) and (
            isinstance(value, bool) or not isinstance(value, int | float)
        ):
            raise ConfigError(f"{where}.{key} must be a number")
        if (
            isinstance(default, int)
            and not isinstance(default, bool)
            and (isinstance(value, bool) or not isinstance(value, int))
        ):
            raise ConfigError(f"{where}.{key} must be an integer")
        if isinstance(default, str) and not isinstance(value, str):
            raise ConfigError(f"{where}.{key} must be a string")
        kwargs[key] = float(value) if isinstance(default, float) else value
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _srtp_policy(data: dict[str, Any], where: str) -> SrtpPolicy:
    data = dict(data)
    for key, table in (("srtp_auth_alg", _AUTH_ALGS), ("srtcp_auth_alg", _AUTH_ALGS)):
        if isinstance(data.get(key), str):
            name = data[key].upper()
            if name not in table:
                raise ConfigError(f"{where}.{key}: one of {', '.join(table)}")
            data[key] = int(table[name])
    if isinstance(data.get("encr_alg"), str):
        name = data["encr_alg"].upper()
        if name not in _ENCR_ALGS:
            raise ConfigError(f"{where}.encr_alg: one of {', '.join(_ENCR_ALGS)}")
        data["encr_alg"] = int(_ENCR_ALGS[name])
    policy: SrtpPolicy = _fill(SrtpPolicy, data, where)
    try:
        policy.to_sp()  # every value must fit its SP parameter
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return policy


def _key_domain(data: dict[str, Any]) -> KeyDomainId:
    try:
        if "id" in data:
            return KeyDomainId.from_hex(str(data["id"]))
        return KeyDomainId.from_plmn(str(data.get("mcc", "001")), str(data.get("mnc", "01")))
    except InvalidIdentifier as exc:
        raise ConfigError(f"key_domain: {exc}") from None


def from_dict(data: dict[str, Any], *, base_dir: Path | None = None) -> BmscConfig:
    """Build a :class:`BmscConfig` from parsed TOML; relative store paths are resolved against
    ``base_dir``."""
    known = {"bmsc", "key_domain", "http", "rate_limit", "push", "admin", "gba", "key_group"}
    for key in data:
        if key not in known:
            raise ConfigError(f"unknown table [{key}]")
    bmsc = _table(data, "bmsc")
    for key in bmsc:
        if key not in ("fqdn", "realm", "store"):
            raise ConfigError(f"bmsc: unknown setting {key!r}")
    store = str(bmsc.get("store", "bmsc.db"))
    if base_dir is not None and store != ":memory:" and not Path(store).is_absolute():
        store = str(base_dir / store)
    groups_data = data.get("key_group", [{"number": 1}])
    if not isinstance(groups_data, list):
        raise ConfigError("[[key_group]] must be an array of tables")
    groups: list[KeyGroupConfig] = []
    for i, g in enumerate(groups_data):
        if not isinstance(g, dict) or "number" not in g:
            raise ConfigError(f"key_group #{i}: a table with a number")
        table = dict(g)
        policy = table.pop("srtp_policy", None)
        ack = table.pop("ack_required", None)
        if ack is not None and not isinstance(ack, bool):
            raise ConfigError(f"key_group #{i}.ack_required must be true or false")
        cfg: KeyGroupConfig = _fill(KeyGroupConfig, table, f"key_group #{i}")
        if policy is not None:
            if not isinstance(policy, dict):
                raise ConfigError(f"key_group #{i}.srtp_policy must be a table")
            cfg = dataclasses.replace(cfg, srtp_policy=_srtp_policy(policy, f"key_group #{i}"))
        groups.append(dataclasses.replace(cfg, ack_required=ack))
    return BmscConfig(
        fqdn=str(bmsc.get("fqdn", DEFAULT_FQDN)),
        realm=str(bmsc.get("realm", "")),
        store=store,
        key_domain=_key_domain(_table(data, "key_domain")),
        key_groups=tuple(groups),
        http=_fill(HttpConfig, _table(data, "http"), "http"),
        rate_limit=_fill(RateLimitConfig, _table(data, "rate_limit"), "rate_limit"),
        push=_fill(PushConfig, _table(data, "push"), "push"),
        admin=_fill(AdminConfig, _table(data, "admin"), "admin"),
        gba=_fill(GbaConfig, _table(data, "gba"), "gba"),
    )


def load(path: str | Path) -> BmscConfig:
    """Read a TOML file (module docstring); ConfigError for a bad file or setting."""
    p = Path(path)
    try:
        data = read_toml(p)
    except TomlFileError as exc:
        raise ConfigError(str(exc)) from None
    return from_dict(data, base_dir=p.parent)
