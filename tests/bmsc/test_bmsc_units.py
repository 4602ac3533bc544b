"""Sans-IO pieces of the BM-SC: GBA KDF and MUK, Digest (RFC 7616 vectors, nonces), MSK XML,
rate limit, configuration."""

from __future__ import annotations

import base64
import textwrap
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.hmac import HMAC
from testkit import EXAMPLES_DIR as EXAMPLES

from broadcast import profile
from broadcast.config.bmsc import load
from broadcast.engine.bmsc.ratelimit import RateLimiter
from broadcast.proto.errors import ConfigError
from broadcast.proto.keys.ids import KeyDomainId, MskId
from broadcast.proto.keys.material import SessionKey
from broadcast.proto.mikey.constants import SrtpAuthAlg
from broadcast.proto.msk.digest import (
    DigestServer,
    NonceManager,
    build_authorization,
    parse_authorization,
    parse_challenges,
    request_digest,
)
from broadcast.proto.msk.errors import DigestError, GbaError, MskRequestError
from broadcast.proto.msk.gba import (
    GbaMiss,
    digest_password,
    gba_kdf,
    ks_ext_naf,
    muk_from_ks_naf,
    muk_id_for,
    naf_id,
)
from broadcast.proto.msk.msk_xml import (
    MskStatus,
    build_msk_request,
    build_msk_response,
    parse_msk_request,
    parse_msk_response,
)
from broadcast.store.gba_sim import SQLiteGbaStore

KS = SessionKey(bytes(range(32)))
RAND = bytes(range(0xA0, 0xB0))
IMPI = "001010000000001@ims.mnc001.mcc001.3gppnetwork.org"
FQDN = "bmsc.mnc001.mcc001.pub.3gppnetwork.org"


# --- GBA --------------------------------------------------------------------------------------


def test_naf_id_is_fqdn_and_mbms_ua_id() -> None:
    assert naf_id(FQDN) == FQDN.encode() + bytes((1, 0, 0, 0, 1))
    with pytest.raises(GbaError):
        naf_id("Not A Host")


def test_ks_ext_naf_matches_an_independent_ts33220_kdf() -> None:
    # S = FC || P0 || L0 || P1 || L1 || P2 || L2 || P3 || L3, built by hand (TS 33.220 B.2).
    naf = naf_id(FQDN)
    s = b"\x01" + b"gba-me" + b"\x00\x06" + RAND + b"\x00\x10"
    s += IMPI.encode() + len(IMPI).to_bytes(2, "big") + naf + len(naf).to_bytes(2, "big")
    mac = HMAC(KS.secret, hashes.SHA256())
    mac.update(s)
    expected = mac.finalize()
    got = ks_ext_naf(KS, RAND, IMPI, naf)
    assert got.secret == expected
    # Regression value (self-computed [C]; no published TS 33.220 vector exists).
    assert got.secret.hex() == expected.hex()
    assert len(got.secret) == 32


def test_kdf_parameter_lengths_are_two_bytes() -> None:
    assert gba_kdf(b"k", 1, b"ab") != gba_kdf(b"k", 1, b"a", b"b")
    with pytest.raises(GbaError):
        gba_kdf(b"k", 1, bytes(70000))


def test_muk_and_muk_id_and_password() -> None:
    ks_naf = ks_ext_naf(KS, RAND, IMPI, naf_id(FQDN))
    assert muk_from_ks_naf(ks_naf).secret == ks_naf.secret[:16]
    assert base64.b64decode(digest_password(ks_naf)) == ks_naf.secret
    mid = muk_id_for(FQDN, "abc@bsf.example")
    assert (mid.idi, mid.idr) == (FQDN.encode(), b"abc@bsf.example")
    assert ks_naf.secret.hex() not in repr(ks_naf)


def test_bsf_simulator_bootstrap_and_lookup(tmp_path: Path) -> None:
    gba = SQLiteGbaStore(tmp_path / "g.db", bsf_domain="bsf.example.org")
    boot = gba.bootstrap(IMPI, now_unix=1000, lifetime=60)
    assert boot.b_tid.endswith("@bsf.example.org")
    assert base64.b64decode(boot.b_tid.split("@")[0]) == boot.rand
    naf = naf_id(FQDN)
    key = gba.naf_key(boot.b_tid, naf, 1059)
    assert not isinstance(key, GbaMiss)
    assert key.impi == IMPI and key.expires_at == 1060
    assert key.ks_naf == gba.ue_material(boot.b_tid, naf).ks_naf
    assert gba.naf_key(boot.b_tid, naf, 1060) is GbaMiss.EXPIRED
    assert gba.naf_key("nobody@bsf", naf, 1000) is GbaMiss.UNKNOWN
    assert gba.naf_key("x" * 5000, naf, 1000) is GbaMiss.UNKNOWN
    other = gba.naf_key(boot.b_tid, naf_id("other.example.org"), 1000)
    assert not isinstance(other, GbaMiss) and other.ks_naf != key.ks_naf
    assert gba.purge_expired(2000) == 1
    gba.close()


# --- Digest -------------------------------------------------------------------------------------

RFC_ARGS = dict(
    username="Mufasa",
    realm="http-auth@example.org",
    password="Circle of Life",
    method="GET",
    uri="/dir/index.html",
    nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    nc_text="00000001",
    cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
)


def test_rfc7616_section_3_9_1_vectors() -> None:
    assert (
        request_digest(algorithm="SHA-256", **RFC_ARGS)
        == "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    )
    assert request_digest(algorithm="MD5", **RFC_ARGS) == "8ca523f5e9506fed4657c9700eebdbec"


def test_parse_authorization_fields_and_refusals() -> None:
    header = build_authorization(
        algorithm="SHA-256",
        username="u@b",
        realm="r",
        password="p",
        method="POST",
        uri="/k?x=1",
        nonce="n",
        nc=16,
        cnonce="c",
        opaque="o",
    )
    c = parse_authorization(header)
    assert (c.username, c.realm, c.uri, c.nc, c.nc_text, c.opaque) == (
        "u@b",
        "r",
        "/k?x=1",
        16,
        "00000010",
        "o",
    )
    for bad, status in (
        ("Basic dXNlcjpwYXNz", 401),
        ('Digest username="a"', 400),
        ('Digest username="a", username="b"', 400),
        (header.replace("qop=auth", "qop=auth-int"), 401),
        (header.replace("SHA-256", "SHA-512-256"), 401),
        (header.replace("nc=00000010", "nc=10"), 400),
        ('Digest username="unterminated', 400),
        ("Digest " + "a=b, " * 40, 400),
        ("x" * 5000, 400),
    ):
        with pytest.raises(DigestError) as info:
            parse_authorization(bad)
        assert info.value.http_status == status, bad


def test_parse_challenges_several_schemes() -> None:
    got = parse_challenges('Digest realm="a\\"b", qop="auth", nonce=x, Basic realm="r", Bearer')
    assert got == [
        ("digest", {"realm": 'a"b', "qop": "auth", "nonce": "x"}),
        ("basic", {"realm": "r"}),
        ("bearer", {}),
    ]


def _server(lifetime: float = 10.0, max_tracked: int = 100) -> DigestServer:
    return DigestServer(
        "realm", NonceManager(secret=b"s" * 32, lifetime_s=lifetime, max_tracked=max_tracked)
    )


def _answer(server: DigestServer, nonce: str, nc: int, password: str = "pw") -> str:
    return build_authorization(
        algorithm="SHA-256",
        username="u",
        realm="realm",
        password=password,
        method="POST",
        uri="/k",
        nonce=nonce,
        nc=nc,
        cnonce="cn",
        opaque=server.nonces.opaque(),
    )


def test_digest_server_accepts_once_per_nonce_count() -> None:
    server = _server()
    nonce = server.nonces.issue(100.0)
    ok = server.verify(
        _answer(server, nonce, 1),
        method="POST",
        uri="/k",
        now_unix=101.0,
        password_of=lambda u: "pw",
    )
    assert "nextnonce=" in ok.authentication_info and "rspauth=" in ok.authentication_info
    with pytest.raises(DigestError, match="already used"):
        server.verify(
            _answer(server, nonce, 1),
            method="POST",
            uri="/k",
            now_unix=101.0,
            password_of=lambda u: "pw",
        )
    server.verify(
        _answer(server, nonce, 2),
        method="POST",
        uri="/k",
        now_unix=101.0,
        password_of=lambda u: "pw",
    )


def test_digest_server_refusals() -> None:
    server = _server()
    nonce = server.nonces.issue(100.0)
    ok = dict(method="POST", uri="/k", now_unix=101.0)
    with pytest.raises(DigestError, match="wrong credentials") as info:
        server.verify(_answer(server, nonce, 1, "bad"), password_of=lambda u: "pw", **ok)
    assert not info.value.stale
    with pytest.raises(DigestError, match="wrong credentials"):
        server.verify(_answer(server, nonce, 1), password_of=lambda u: None, **ok)
    with pytest.raises(DigestError, match="unknown nonce"):
        server.verify(_answer(server, "A" * 48, 1), password_of=lambda u: "pw", **ok)
    with pytest.raises(DigestError, match="uri") as info:
        server.verify(
            _answer(server, nonce, 1),
            password_of=lambda u: "pw",
            method="POST",
            uri="/other",
            now_unix=101.0,
        )
    assert info.value.http_status == 400
    other_realm = _answer(server, nonce, 1).replace('realm="realm"', 'realm="x"')
    with pytest.raises(DigestError, match="realm"):
        server.verify(other_realm, password_of=lambda u: "pw", **ok)
    # expired nonce with a correct answer -> stale
    with pytest.raises(DigestError) as info:
        server.verify(
            _answer(server, nonce, 1),
            password_of=lambda u: "pw",
            method="POST",
            uri="/k",
            now_unix=111.0,
        )
    assert info.value.stale


def test_nonce_table_bound_never_allows_a_replay() -> None:
    server = _server(lifetime=1000.0, max_tracked=2)
    nonces = [server.nonces.issue(100.0 + i) for i in range(3)]
    for n in nonces:
        server.verify(
            _answer(server, n, 1),
            method="POST",
            uri="/k",
            now_unix=105.0,
            password_of=lambda u: "pw",
        )
    assert server.nonces.tracked <= 2
    with pytest.raises(DigestError) as info:  # dropped from the table: stale, not replayable
        server.verify(
            _answer(server, nonces[0], 1),
            method="POST",
            uri="/k",
            now_unix=105.0,
            password_of=lambda u: "pw",
        )
    assert info.value.stale or "already used" in str(info.value)


# --- MSK XML ----------------------------------------------------------------------------------


def test_msk_request_round_trip() -> None:
    kd = KeyDomainId.from_plmn("001", "01")
    body = build_msk_request(kd, [MskId(1, 0), MskId(2, 7)])
    req = parse_msk_request(body)
    assert req.key_domain == kd and req.msk_ids == (MskId(1, 0), MskId(2, 7))
    resp = build_msk_response([MskStatus(MskId(1, 0), 200), MskStatus(MskId(2, 7), 403)])
    assert parse_msk_response(resp) == (MskStatus(MskId(1, 0), 200), MskStatus(MskId(2, 7), 403))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"", "document"),
        (b"<mbms-msk/>", "root"),
        (
            b'<mbms-msk xmlns="urn:3gpp:mbms:msk:2005"><msk-id>00010000</msk-id></mbms-msk>',
            "key-domain-id",
        ),
        (b'<mbms-msk xmlns="urn:3gpp:mbms:msk:2005" key-domain-id="00F110"/>', "msk-id"),
        (
            b'<mbms-msk xmlns="urn:3gpp:mbms:msk:2005" key-domain-id="00F110"><msk-id>0001</msk-id>'
            b"</mbms-msk>",
            "msk-id",
        ),
        (
            b'<!DOCTYPE a [<!ENTITY x "y">]><mbms-msk xmlns="urn:3gpp:mbms:msk:2005" '
            b'key-domain-id="00F110"><msk-id>&x;</msk-id></mbms-msk>',
            "DOCTYPE",
        ),
        (
            b'<mbms-msk xmlns="urn:3gpp:mbms:msk:2005" key-domain-id="00F110">'
            + b"<msk-id>00010000</msk-id>" * 65
            + b"</mbms-msk>",
            "elements",
        ),
    ],
)
def test_msk_request_refusals(body: bytes, field: str) -> None:
    with pytest.raises(MskRequestError) as info:
        parse_msk_request(body)
    assert info.value.field == field
    assert info.value.http_status == 400


def test_msk_request_too_large() -> None:
    with pytest.raises(MskRequestError) as info:
        parse_msk_request(b" " * 20000)
    assert info.value.http_status == 413


# --- rate limit, config -----------------------------------------------------------------------


def test_rate_limiter_bucket_and_bound() -> None:
    rl = RateLimiter(rate=2.0, burst=2, max_clients=2)
    assert rl.allow("a", 0.0) == 0.0 and rl.allow("a", 0.0) == 0.0
    assert rl.allow("a", 0.0) == pytest.approx(0.5)
    assert rl.allow("a", 0.5) == 0.0
    rl.allow("b", 0.5)
    rl.allow("c", 0.5)
    assert len(rl) == 2
    assert RateLimiter(0.0, 1, 1).allow("x", 0.0) == 0.0


def test_example_config_loads() -> None:
    cfg = load(EXAMPLES / "bmsc.toml")
    assert cfg.http.path == profile.KEY_MANAGEMENT_PATH
    streaming = cfg.group(2)
    assert streaming is not None and streaming.streaming
    policy = streaming.policy()
    assert policy is not None and policy.srtp_auth_alg == SrtpAuthAlg.RCCM2
    download = cfg.group(1)
    assert download is not None and download.policy() is None


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[bmsc]\nfqdn = 'UPPER'\n", r"c\.toml: \[bmsc\] fqdn: "),
        ("[push]\nack_timeout = 'x'\n", r"\[push\] ack_timeout: must be a number"),
        ("[push]\nnope = 1\n", r"\[push\] nope: unknown key \(known: .*ack_timeout"),
        ("[push]\nack_timout = 1\n", r"ack_timout: unknown key, did you mean ack_timeout\?"),
        ("[key_domain]\nmcc = '001'\n", r"\[key_domain\]: unknown table \(known: .*\[keys\]"),
        ("[bmsc]\nstore = 'b.db'\n", r"\[bmsc\] store: unknown key"),
        ("[admin]\nlisten = '10.0.0.1'\nport = 1\n", r"c\.toml: \[admin\] listen: .*loopback"),
        (
            "[[key_group]]\nnumber = 1\n[key_group.srtp]\nrcc = 'RCCm2'\n",
            r"\[key_group\] #1 streaming: .*set streaming = true",
        ),
        (
            "[[key_group]]\nnumber = 1\nstreaming = true\n[key_group.srtp]\nrcc = 'FOO'\n",
            r"\[key_group.srtp\] #1 rcc: must be one of",
        ),
        (
            "[[key_group]]\nnumber = 2\nstreaming = true\n[key_group.srtp]\nauth_tag = 10\n",
            r'\[key_group.srtp\] #1 auth_tag: must be 80, 32 or "null" \(got 10\)',
        ),
        (
            "[[key_group]]\nnumber = 2\nstreaming = true\n[key_group.srtp]\n"
            "srtp_auth_tag_len = 10\n",
            r"\[key_group.srtp\] #1 srtp_auth_tag_len: unknown key",
        ),
        (
            "[[key_group]]\nnumber = 1\n[[key_group]]\nnumber = 1\n",
            r"\[key_group\] #2 number: Key Group 1 is configured twice",
        ),
        ("not toml = = 1", "TOML"),
    ],
)
def test_config_errors(tmp_path: Path, text: str, match: str) -> None:
    p = tmp_path / "c.toml"
    p.write_text(textwrap.dedent(text))
    with pytest.raises(ConfigError, match=match):
        load(p)
