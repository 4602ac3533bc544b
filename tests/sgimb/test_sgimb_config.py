"""[output] configuration: static validation, host checks when the output opens, TOML mapping."""

from __future__ import annotations

import re
import socket
import tomllib
from pathlib import Path
from typing import Any

import pytest
from sgimb_support import HOST_TX

from broadcast.aio.sgimb.output import DatagramOutput
from broadcast.config import output as config_module
from broadcast.config.output import GtpuConfig, OutputConfig
from broadcast.config.reader import Table
from broadcast.config.sections import output_section
from broadcast.proto.errors import ConfigError


def output_config_from_mapping(section: object) -> OutputConfig:
    """``[output]`` as a TOML table (None: absent) through the one parser of the table."""
    return output_section(Table({} if section is None else section, "output", base=Path()))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ttl": -1}, r"\[output\] ttl: must be an integer 0\.\.255 \(got -1\)"),
        ({"ttl": 256}, r"\[output\] ttl: must be an integer 0\.\.255 \(got 256\)"),
        ({"ttl": True}, r"\[output\] ttl: must be an integer"),
        ({"ttl": "5"}, r"\[output\] ttl: must be an integer"),
        (
            {"source": "not-an-ip"},
            r"\[output\] source: must be an IPv4 address \(got 'not-an-ip'\)",
        ),
        ({"source": "::1"}, r"\[output\] source: must be an IPv4 address \(got '::1'\)"),
        ({"source_port": 65536}, r"\[output\] source_port"),
        ({"interface": ""}, r"\[output\] interface"),
        ({"interface": "x" * 16}, r"\[output\] interface"),
        ({"send_timeout": 0}, r"\[output\] send_timeout"),
        ({"send_timeout": float("nan")}, r"\[output\] send_timeout"),
        ({"sndbuf": -1}, r"\[output\] sndbuf"),
    ],
)
def test_static_validation(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        OutputConfig(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"endpoint": "gw", "teid": 1}, r"\[output\.gtpu\] endpoint: .*'gw'"),
        ({"endpoint": "127.21.0.1", "teid": -1}, r"\[output\.gtpu\] teid"),
        ({"endpoint": "127.21.0.1", "teid": 1 << 32}, r"\[output\.gtpu\] teid"),
        ({"endpoint": "127.21.0.1", "teid": 1, "port": 0}, r"\[output\.gtpu\] port"),
    ],
)
def test_gtpu_validation(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        GtpuConfig(**kwargs)


def test_ttl_bounds_accepted() -> None:
    assert OutputConfig(ttl=0).ttl == 0
    assert OutputConfig(ttl=255).ttl == 255


def test_source_must_be_local() -> None:
    # 198.51.100.7 (TEST-NET-2) is not configured here: the bind fails, nothing is sent.
    with pytest.raises(ConfigError, match=r"198\.51\.100\.7 is not an address of this host"):
        DatagramOutput(OutputConfig(source="198.51.100.7"))


def test_interface_must_exist() -> None:
    with pytest.raises(ConfigError, match="no interface named 'nosuchif0'"):
        DatagramOutput(OutputConfig(interface="nosuchif0"))
    with pytest.raises(ConfigError, match="not an address of this host"):
        DatagramOutput(OutputConfig(interface="198.51.100.7"))


def test_interface_by_name_or_address_is_applied() -> None:
    # (the namespace tests show the effect on the wire; here: the options are set)
    with DatagramOutput(OutputConfig(interface="lo", ttl=9)) as out:
        assert out._sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL) == 9
    with DatagramOutput(OutputConfig(interface="127.0.0.1", multicast_loop=False)) as out:
        mif = out._sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, 4)
        assert socket.inet_ntoa(mif) == "127.0.0.1"
        assert out._sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP) == 0


def test_port_in_use() -> None:
    with DatagramOutput(OutputConfig(source=HOST_TX)) as first:
        port = first.local_address[1]
        with pytest.raises(ConfigError, match=rf"\[output\] source_port: .*:{port} is already"):
            DatagramOutput(OutputConfig(source=HOST_TX, source_port=port))


def test_gtpu_endpoint_without_route() -> None:
    # The limited broadcast address needs SO_BROADCAST: the route look-up (a UDP connect,
    # nothing sent) for the inner source address fails.
    with pytest.raises(ConfigError, match=r"\[output\.gtpu\] endpoint: cannot send to"):
        DatagramOutput(OutputConfig(gtpu=GtpuConfig(endpoint="255.255.255.255", teid=1)))


def _doc_example() -> str:
    doc = config_module.__doc__ or ""
    block = doc.split("Keys of ``[output]``", 1)[1].split("Static checks", 1)[0]
    lines = [line[4:] for line in block.splitlines() if line.startswith("    ")]
    return "\n".join(lines)


def test_documented_example_parses() -> None:
    table = tomllib.loads(_doc_example())
    cfg = output_config_from_mapping(table["output"])
    assert cfg == OutputConfig(
        ttl=1,
        interface="sgi_mb",
        source="172.16.1.1",
        source_port=0,
        multicast_loop=True,
        gso=True,
        native=True,
        send_timeout=0.05,
        sndbuf=0,
        gtpu=GtpuConfig(endpoint="127.0.0.1", port=2152, teid=1, sequence_numbers=False),
    )


def test_every_field_is_documented() -> None:
    documented = set(re.findall(r"^(\w+) =", _doc_example(), re.MULTILINE))
    fields = set(OutputConfig.__dataclass_fields__) | set(GtpuConfig.__dataclass_fields__)
    assert fields - {"gtpu"} == documented


def test_mapping_defaults_and_partial() -> None:
    assert output_config_from_mapping(None) == OutputConfig()
    assert output_config_from_mapping({}) == OutputConfig()
    cfg = output_config_from_mapping({"ttl": 4, "send_timeout": 1})
    assert (cfg.ttl, cfg.send_timeout, cfg.gtpu) == (4, 1, None)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"tll": 1}, r"\[output\] tll: unknown key, did you mean ttl\? \(known: .*ttl"),
        ({"ttl": "1"}, r'\[output\] ttl: must be an integer 0..255 \(got "1"\)'),
        ({"ttl": 1.5}, r"\[output\] ttl: must be an integer"),
        ({"multicast_loop": 1}, r"\[output\] multicast_loop: must be true or false"),
        ({"ttl": 300}, r"\[output\] ttl: must be 0..255 \(got 300\)"),
        ({"gtpu": "127.0.0.1"}, r"\[output\.gtpu\] must be a table"),
        ({"gtpu": {"endpoint": "127.0.0.1"}}, r"\[output\.gtpu\] teid: is required"),
        ({"gtpu": {"teid": 1}}, r"\[output\.gtpu\] endpoint: is required"),
        (
            {"gtpu": {"endpoint": "127.0.0.1", "teid": "1"}},
            r"\[output\.gtpu\] teid: must be an integer",
        ),
        (
            {"gtpu": {"endpoint": "127.0.0.1", "teid": 1, "x": 1}},
            r"\[output\.gtpu\] x: unknown key",
        ),
    ],
)
def test_mapping_errors(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        output_config_from_mapping(table)


def test_mapping_must_be_a_table() -> None:
    with pytest.raises(ConfigError, match=r"\[output\] must be a table"):
        output_config_from_mapping([("ttl", 1)])
