"""Configuration of the BM-SC MSK service (``mbms serve --config FILE``), TOML -> dataclasses.

Every table and key, with its default (``broadcast/config/examples/bmsc.toml`` is a complete
example). The rules of every configuration file hold (:mod:`broadcast.config.reader`): **relative
paths are relative to the directory of the configuration file**; unknown tables and keys and
wrong types are refused with a :class:`~broadcast.proto.errors.ConfigError` naming the file, the
table and the key::

    [bmsc]
    fqdn  = "bmsc.mnc001.mcc001.pub.3gppnetwork.org"  # NAF-ID FQDN = IDi of the MUK ID
    realm = "bmsc.mnc001.mcc001.pub.3gppnetwork.org"  # Digest realm (default: fqdn)

    [keys]                # the shared table (broadcast.config.sections)
    store = "bmsc.db"     # SQLite file: key store + BM-SC tables
    mcc = "001"           # Key Domain ID = MCC || MNC (strings); or key_domain = "00F110"
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
    [key_group.srtp]      # streaming groups only: the shared [srtp] table; omitted keys take
    cipher = "aes-cm-128" # the profile defaults. "aes-cm-128" | "null"
    auth_tag = 80         # SRTP tag bits: 80 | 32 | "null"
    rcc = "RCCm2"         # RCCm1 | RCCm2 | RCCm3 | "off"
    roc_rate = 16         # R: a ROC every R packets

A streaming Key Group's SRTP policy is stored with the group in the key store when ``mbms
serve`` sets up its groups (a changed policy replaces the stored one, with a warning): the MSK
messages carry it to the UEs and ``mbms stream`` protects the group's session with it (a
stream whose own ``[srtp]`` disagrees refuses to start). SRTCP always uses HMAC-SHA1-80.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from broadcast import profile
from broadcast.config.reader import REQUIRED, Table, document
from broadcast.config.reader import load as load_file
from broadcast.config.sections import keys_section, srtp_section
from broadcast.engine.bmsc.settings import (
    AdminConfig,
    BmscConfig,
    GbaConfig,
    HttpConfig,
    KeyGroupConfig,
    PushConfig,
    RateLimitConfig,
)

#: The tables of a BM-SC file.
TABLES: Final = ("bmsc", "keys", "http", "rate_limit", "push", "admin", "gba", "key_group")
#: The store file when ``[keys] store`` is not given (beside the configuration file).
DEFAULT_STORE: Final = Path("bmsc.db")


def _http(t: Table) -> HttpConfig:
    d = HttpConfig()
    cfg = HttpConfig(
        listen=t.text("listen", d.listen),
        port=t.integer("port", d.port, 0, 0xFFFF),
        path=t.text("path", d.path),
        max_body=t.integer("max_body", d.max_body, 1, 1 << 30),
        nonce_lifetime=t.number("nonce_lifetime", d.nonce_lifetime, above=True),
        max_nonces=t.integer("max_nonces", d.max_nonces, 1, 1 << 40),
    )
    t.done()
    return cfg


def _rate_limit(t: Table) -> RateLimitConfig:
    d = RateLimitConfig()
    cfg = RateLimitConfig(
        rate=t.number("rate", d.rate),
        burst=t.integer("burst", d.burst, 1, 1 << 40),
        max_clients=t.integer("max_clients", d.max_clients, 1, 1 << 40),
    )
    t.done()
    return cfg


def _push(t: Table) -> PushConfig:
    d = PushConfig()
    cfg = PushConfig(
        source=t.address("source", d.source, ipv4=False),
        source_port=t.integer("source_port", d.source_port, 0, 0xFFFF),
        port=t.integer("port", d.port, 1, 0xFFFF),
        delay=t.number("delay", d.delay),
        ack_required=t.flag("ack_required", d.ack_required),
        ack_timeout=t.number("ack_timeout", d.ack_timeout, above=True),
        backoff=t.number("backoff", d.backoff, 1.0),
        max_attempts=t.integer("max_attempts", d.max_attempts, 1, 1000),
        batch=t.integer("batch", d.batch, 1, 1 << 30),
    )
    t.done()
    return cfg


def _admin(t: Table) -> AdminConfig:
    d = AdminConfig()
    token = t.path("token_file")
    cfg = AdminConfig(
        listen=t.text("listen", d.listen),
        port=t.integer("port", d.port, 0, 0xFFFF),
        token_file="" if token is None else str(token),
    )
    t.done()
    return cfg


def _gba(t: Table) -> GbaConfig:
    d = GbaConfig()
    cfg = GbaConfig(
        bsf_domain=t.text("bsf_domain", d.bsf_domain),
        key_lifetime=t.integer("key_lifetime", d.key_lifetime, 1, 1 << 40),
    )
    t.done()
    return cfg


def _key_group(t: Table) -> KeyGroupConfig:
    d = KeyGroupConfig(0)
    srtp = t.table("srtp")
    ack = t.flag("ack_required", True) if t.has("ack_required") else None
    cfg = KeyGroupConfig(
        number=t.integer("number", REQUIRED, 0, 0xFFFF),
        streaming=t.flag("streaming", d.streaming),
        rotation_period=t.number("rotation_period", d.rotation_period),
        rotation_lead=t.number("rotation_lead", d.rotation_lead),
        mtk_id_low=t.integer("mtk_id_low", d.mtk_id_low, profile.MTK_ID_MIN, profile.MTK_ID_MAX),
        mtk_id_high=t.integer("mtk_id_high", d.mtk_id_high, profile.MTK_ID_MIN, profile.MTK_ID_MAX),
        ack_required=ack,
        srtp=None if srtp is None else srtp_section(srtp),
    )
    t.done()
    return cfg


def bmsc_config(root: Table) -> BmscConfig:
    """A :class:`BmscConfig` from the root table of a BM-SC file."""
    root.only(*TABLES)
    bmsc = root.section("bmsc")
    fqdn = bmsc.text("fqdn", profile.BMSC_DEFAULT_FQDN)
    realm = bmsc.text("realm", "")
    bmsc.done()
    keys = root.section("keys")
    store, domain = keys_section(keys, store=DEFAULT_STORE)
    keys.done()
    groups = tuple(_key_group(t) for t in root.array("key_group")) or (KeyGroupConfig(1),)
    cfg = BmscConfig(
        fqdn=fqdn,
        realm=realm,
        store=str(store),
        key_domain=domain,
        key_groups=groups,
        http=_http(root.section("http")),
        rate_limit=_rate_limit(root.section("rate_limit")),
        push=_push(root.section("push")),
        admin=_admin(root.section("admin")),
        gba=_gba(root.section("gba")),
    )
    root.done()
    return cfg


def from_dict(data: Mapping[str, Any], *, base_dir: Path = Path()) -> BmscConfig:
    """Build a :class:`BmscConfig` from parsed TOML; relative paths are taken from
    ``base_dir``."""
    return bmsc_config(document(data, base=base_dir))


def load(path: str | Path) -> BmscConfig:
    """Read a TOML file (module docstring); ConfigError naming file, table and key."""
    return load_file(path, bmsc_config)


__all__ = ["DEFAULT_STORE", "bmsc_config", "from_dict", "load"]
