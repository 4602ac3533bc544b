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
from pathlib import Path
from typing import Any, Final

from broadcast import profile
from broadcast.config.files import TomlFileError, read_toml
from broadcast.engine.bmsc.settings import (
    AdminConfig,
    BmscConfig,
    GbaConfig,
    HttpConfig,
    KeyGroupConfig,
    PushConfig,
    RateLimitConfig,
)
from broadcast.proto.keys.errors import InvalidIdentifier
from broadcast.proto.keys.ids import KeyDomainId
from broadcast.proto.mikey.constants import SrtpAuthAlg, SrtpEncrAlg
from broadcast.proto.mikey.srtp_policy import SrtpPolicy
from broadcast.proto.msk.errors import ConfigError

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
        fqdn=str(bmsc.get("fqdn", profile.BMSC_DEFAULT_FQDN)),
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
