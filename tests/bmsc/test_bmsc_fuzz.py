"""Hypothesis fuzzing of the MSK request body and the Digest header parsers: any input yields a
result or the parser's typed error, never another exception."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broadcast.proto.keys.ids import KeyDomainId, MskId
from broadcast.proto.msk.digest import (
    DigestServer,
    NonceManager,
    parse_auth_info,
    parse_authorization,
    parse_challenges,
)
from broadcast.proto.msk.errors import DigestError, MskRequestError
from broadcast.proto.msk.msk_xml import parse_msk_request, parse_msk_response

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_tokens = st.sampled_from(
    [
        "Digest",
        "username",
        "realm",
        "nonce",
        "uri",
        "response",
        "qop",
        "nc",
        "cnonce",
        "algorithm",
        "opaque",
        "auth",
        "MD5",
        "SHA-256",
        "userhash",
        "username*",
        "=",
        ",",
        " ",
        '"',
        "\\",
        "00000001",
        "\t",
        "\x00",
        "é",
        "a" * 70,
    ]
)
headers = st.one_of(st.text(max_size=300), st.lists(_tokens, max_size=40).map("".join))

_xml_parts = st.sampled_from(
    [
        "<mbms-msk",
        ' xmlns="urn:3gpp:mbms:msk:2005"',
        ' key-domain-id="00F110"',
        ">",
        "<msk-id>",
        "00010000",
        "</msk-id>",
        "</mbms-msk>",
        "<!DOCTYPE x>",
        "&x;",
        "<!--c-->",
        "<a>",
        "</a>",
        " ",
        "\x00",
        "<?xml version='1.0'?>",
        "]]>",
        "<![CDATA[",
        "zz",
    ]
)
bodies = st.one_of(
    st.binary(max_size=400),
    st.lists(_xml_parts, max_size=30).map(
        lambda parts: "".join(parts).encode("utf-8", "surrogatepass")
    ),
)


@SETTINGS
@given(bodies)
def test_msk_request_parser_total(body: bytes) -> None:
    try:
        req = parse_msk_request(body)
    except MskRequestError as exc:
        assert exc.http_status in (400, 413)
        return
    assert isinstance(req.key_domain, KeyDomainId)
    assert all(isinstance(m, MskId) for m in req.msk_ids) and req.msk_ids


@SETTINGS
@given(bodies)
def test_msk_response_parser_total(body: bytes) -> None:
    with contextlib.suppress(MskRequestError):
        parse_msk_response(body)


@SETTINGS
@given(headers)
def test_authorization_parser_total(header: str) -> None:
    try:
        creds = parse_authorization(header)
    except DigestError as exc:
        assert exc.http_status in (400, 401)
        return
    assert len(creds.nc_text) == 8


@SETTINGS
@given(headers)
def test_challenge_and_info_parsers_total(header: str) -> None:
    for parse in (parse_challenges, parse_auth_info):
        with contextlib.suppress(DigestError):
            parse(header)


SERVER = DigestServer("realm", NonceManager(secret=b"k" * 32))


@SETTINGS
@given(headers)
def test_server_verify_total(header: str) -> None:
    try:
        SERVER.verify(header, method="POST", uri="/k", now_unix=1.0, password_of=lambda u: "pw")
    except DigestError:
        return
    raise AssertionError("random input authenticated")
