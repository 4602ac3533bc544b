"""The one TOML reader (broadcast.config.reader) and the one ConfigError: typed getters with
ranges, unknown keys refused with the nearest known one, relative paths relative to the
configuration file, errors naming file, table and key — the same in every loader."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from broadcast.config.bmsc import load as load_bmsc
from broadcast.config.carousel import load_config as load_carousel
from broadcast.config.reader import REQUIRED, Table, document, load
from broadcast.config.stream import load_config as load_stream
from broadcast.config.ue import load_config as load_ue
from broadcast.proto.errors import ConfigError

BASE = Path("/etc/mbms")


def table(data: dict[str, Any], name: str = "t") -> Table:
    return Table(data, name, base=BASE, file="c.toml")


# --- the error ------------------------------------------------------------------------------


def test_the_error_text_names_file_table_and_key() -> None:
    e = ConfigError('must be 80, 32 or "null" (got 64)', file="stream.toml", table="srtp")
    e.key = "auth_tag"
    assert str(e) == 'stream.toml: [srtp] auth_tag: must be 80, 32 or "null" (got 64)'
    assert str(ConfigError("is not UTF-8", file="x.toml")) == "x.toml: is not UTF-8"
    assert str(ConfigError("must be a table", table="srtp")) == "[srtp] must be a table"
    assert str(ConfigError("is required", table="key_group", key="number", item=2)) == (
        "[key_group] #2 number: is required"
    )
    # A message that starts with "=" continues the key.
    assert (
        str(ConfigError('= "off" but ...', table="srtp", key="rcc")) == '[srtp] rcc = "off" but ...'
    )
    # A low layer raises without the file; the loader fills it in, keeping what is known.
    low = ConfigError("must be positive", table="gba", key="key_lifetime")
    assert low.located(file="b.toml", table="other") is low
    assert str(low) == "b.toml: [gba] key_lifetime: must be positive"
    assert isinstance(low, ValueError)


# --- typed getters --------------------------------------------------------------------------


def test_values_of_each_type_are_read() -> None:
    t = table(
        {
            "s": "text",
            "i": 7,
            "f": 2,
            "b": False,
            "a": "192.0.2.1",
            "a6": "2001:db8::1",
            "p": "sub/file",
            "c": "udp",
            "ls": ["x", "y"],
            "li": [1, 2],
        }
    )
    assert t.text("s", REQUIRED) == "text"
    assert t.integer("i", REQUIRED, 0, 10) == 7
    assert t.number("f", 0.0) == 2.0
    assert t.flag("b", True) is False
    assert t.address("a") == "192.0.2.1"
    assert t.address("a6", ipv4=False) == "2001:db8::1"
    assert t.path("p") == BASE / "sub" / "file"
    assert t.choice("c", ("udp", "pcap"), "pcap") == "udp"
    assert t.strings("ls") == ["x", "y"]
    assert t.integers("li", 0, 5) == [1, 2]
    t.done()  # every key was asked for
    # Absent keys take their default; REQUIRED ones are refused.
    empty = table({})
    assert empty.text("s") is None and empty.integer("i", 3, 0, 10) == 3
    assert empty.flag("b", True) and empty.path("p") is None
    with pytest.raises(ConfigError, match=r"^c\.toml: \[t\] s: is required$"):
        empty.text("s", REQUIRED)


@pytest.mark.parametrize(
    ("data", "read", "message"),
    [
        (
            {"k": "5"},
            lambda t: t.integer("k", 0, 0, 9),
            r'\[t\] k: must be an integer 0..9 \(got "5"\)',
        ),
        ({"k": True}, lambda t: t.integer("k", 0, 0, 9), "k: must be an integer 0..9 .got true"),
        ({"k": 1.5}, lambda t: t.integer("k", 0, 0, 9), "k: must be an integer"),
        ({"k": True}, lambda t: t.number("k", 0.0), "k: must be a number >= 0 .got true"),
        ({"k": "1"}, lambda t: t.number("k", 0.0), "k: must be a number"),
        ({"k": 1}, lambda t: t.text("k"), r"k: must be a string \(got 1\)"),
        ({"k": 1}, lambda t: t.flag("k", False), r"k: must be true or false \(got 1\)"),
        ({"k": "yes"}, lambda t: t.flag("k", False), "k: must be true or false"),
        ({"k": 5}, lambda t: t.path("k"), "k: must be a path"),
        ({"k": "10.0.0.256"}, lambda t: t.address("k"), r"k: must be an IPv4 address \(got"),
        ({"k": "::1"}, lambda t: t.address("k"), "k: must be an IPv4 address"),
        ({"k": {"x": 1}}, lambda t: t.text("k"), r"k: must be a string \(got a table\)"),
        ({"k": ["a", 1]}, lambda t: t.strings("k"), "k: must be a list of strings"),
        ({"k": [True]}, lambda t: t.integers("k", 0, 9), "k: must be a list of integers"),
        ({"k": "x"}, lambda t: t.table("k"), r"\[t\.k\] must be a table"),
        ({"k": {}}, lambda t: t.array("k"), r"\[t\.k\] must be an array of tables"),
    ],
)
def test_wrong_types_are_refused(
    data: dict[str, Any], read: Callable[[Table], object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        read(table(data))
    assert info.value.file == "c.toml"


@pytest.mark.parametrize(
    ("value", "read", "message"),
    [
        (10, lambda t: t.integer("k", 0, 0, 9), r"k: must be 0..9 \(got 10\)"),
        (-1, lambda t: t.integer("k", 0, 0, 9), r"k: must be 0..9 \(got -1\)"),
        (-0.5, lambda t: t.number("k", 1.0), r"k: must be a number >= 0 \(got -0.5\)"),
        (0, lambda t: t.number("k", 1.0, above=True), r"k: must be a number > 0 \(got 0\)"),
        (61, lambda t: t.number("k", 1.0, 0.0, 60.0), r"k: must be a number >= 0 and <= 60"),
        (math.inf, lambda t: t.number("k", 1.0), "k: must be a number >= 0"),
        (math.nan, lambda t: t.number("k", 1.0), "k: must be a number >= 0"),
        (
            "tcp",
            lambda t: t.choice("k", ("udp", "pcap"), "udp"),
            r'one of "udp", "pcap" \(got "tcp"\)',
        ),
        ([1, 10], lambda t: t.integers("k", 0, 9), "k: must be a list of integers 0..9"),
    ],
)
def test_values_out_of_range_are_refused(
    value: object, read: Callable[[Table], object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        read(table({"k": value}))


def test_boundaries_are_accepted() -> None:
    t = table({"a": 0, "b": 9, "c": 0.0, "d": 60})
    assert (t.integer("a", 5, 0, 9), t.integer("b", 5, 0, 9)) == (0, 9)
    assert t.number("c", 1.0) == 0.0 and t.number("d", 1.0, 0.0, 60.0) == 60.0


def test_a_secret_value_is_never_echoed() -> None:
    t = table({"key": 12345678})
    with pytest.raises(ConfigError) as info:
        t.text("key", secret=True)
    assert "12345678" not in str(info.value) and "key: must be a string" in str(info.value)


# --- unknown keys ---------------------------------------------------------------------------


def test_an_unknown_key_is_refused_with_the_nearest_known_one() -> None:
    t = table({"interval": 1.0, "inetrval": 2.0})
    t.number("interval", 0.0)
    t.flag("loop", False)
    with pytest.raises(ConfigError) as info:
        t.done()
    assert str(info.value) == (
        "c.toml: [t] inetrval: unknown key, did you mean interval? (known: interval, loop)"
    )
    assert (info.value.table, info.value.key) == ("t", "inetrval")


def test_an_unknown_key_far_from_every_known_one_lists_them() -> None:
    t = table({"colour": "red"})
    t.text("name")
    with pytest.raises(ConfigError, match=r"^c\.toml: \[t\] colour: unknown key \(known: name\)$"):
        t.done()


def test_an_unknown_table_is_refused_before_anything_else() -> None:
    root = document({"sesion": {}, "keys": {}}, base=BASE, file="s.toml")
    with pytest.raises(ConfigError) as info:
        root.only("session", "keys")
    assert str(info.value) == (
        "s.toml: [sesion]: unknown table, did you mean [session]? (known: [keys], [session])"
    )


def test_a_typo_creates_nothing(tmp_path: Path) -> None:
    """A misspelt key is an error, not a default silently used (and not a file created)."""
    cfg = tmp_path / "s.toml"
    cfg.write_text(
        '[session]\nname = "s"\nsdp_file = "x.sdp"\n'
        '[destination]\naddress = "127.0.0.1"\nport = 5004\n'
        '[keys]\nstore = "k.sqlite"\nkey_group = 1\n'
    )
    with pytest.raises(ConfigError, match=r"\[session\] sdp_file: unknown key, did you mean sdp\?"):
        load_stream(cfg)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]


def test_array_items_are_numbered_from_one() -> None:
    root = document({"msk": [{"a": 1}, {"b": 2}]}, base=BASE, file="u.toml")
    items = root.array("msk")
    items[0].integer("a", 0, 0, 9)
    items[0].done()
    with pytest.raises(ConfigError, match=r"^u\.toml: \[msk\] #2 b: unknown key"):
        items[1].done()


# --- relative paths -------------------------------------------------------------------------


def test_relative_paths_are_relative_to_the_configuration_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = tmp_path / "etc"
    conf.mkdir()
    (conf / "s.toml").write_text(
        '[session]\nname = "s"\nsdp = "out/s.sdp"\n'
        '[destination]\naddress = "127.0.0.1"\nport = 5004\n'
        '[keys]\nstore = "keys.sqlite"\nkey_group = 1\n'
        '[ingest]\nsource = "pcap"\nfile = "/abs/in.pcap"\n'
    )
    elsewhere = tmp_path / "run"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cfg = load_stream(Path("..") / "etc" / "s.toml")  # a relative path to the file, too
    assert cfg.keys.store == (conf / "keys.sqlite").absolute()
    assert cfg.session.sdp is not None and cfg.session.sdp.resolve() == conf / "out" / "s.sdp"
    assert str(getattr(cfg.ingest, "file", "")) == "/abs/in.pcap"  # absolute: unchanged
    # ~ is the home directory.
    monkeypatch.setenv("HOME", str(tmp_path))
    assert table({"p": "~/x"}).path("p") == tmp_path / "x"


@pytest.mark.parametrize(
    ("load_file", "text", "path_of"),
    [
        (load_bmsc, "[keys]\nstore = 'b.db'\n", lambda c: Path(c.store)),
        (
            load_carousel,
            "[destination]\naddress = '127.0.0.1'\nport = 1\n[keys]\nstore = 'b.db'\n",
            lambda c: c.store_path,
        ),
        (
            load_stream,
            "[session]\nname = 's'\n[destination]\naddress = '127.0.0.1'\nport = 5004\n"
            "[keys]\nstore = 'b.db'\nkey_group = 1\n",
            lambda c: c.keys.store,
        ),
        (
            load_ue,
            "[announcement]\nprotection = 'b.db'\nsdp = ['s.sdp']\n",
            lambda c: c.protection_file,
        ),
    ],
)
def test_every_loader_follows_the_one_path_rule(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    load_file: Callable[[Path], Any],
    text: str,
    path_of: Callable[[Any], Path],
) -> None:
    (tmp_path / "conf").mkdir()
    cfg = tmp_path / "conf" / "c.toml"
    cfg.write_text(text)
    monkeypatch.chdir(tmp_path)
    assert Path(path_of(load_file(Path("conf/c.toml")))) == tmp_path / "conf" / "b.db"


# --- one error for every loader ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("load_file", "text", "expected"),
    [
        (load_bmsc, "[http]\nport = 70000\n", "[http] port: must be 0..65535 (got 70000)"),
        # found by the settings check of a lower layer (engine/bmsc/settings.py): file added
        (
            load_bmsc,
            "[admin]\nlisten = '10.0.0.1'\nport = 1\n",
            "[admin] listen: must be a loopback address",
        ),
        (
            load_carousel,
            "[destination]\naddress = '127.0.0.1'\n",
            "[destination] port: is required",
        ),
        (
            load_stream,
            "[session]\nname = 's'\n[destination]\naddress = '127.0.0.1'\nport = 5004\n"
            "[keys]\nstore = 'k'\nkey_group = 1\n[output]\nttl = 256\n",
            "[output] ttl: must be 0..255 (got 256)",
        ),
        (
            load_ue,
            "[announcement]\nprotection = 'p.xml'\nsdp = ['s.sdp']\n[streaming]\nrtcp = 1\n",
            "[streaming] rtcp: must be true or false (got 1)",
        ),
    ],
)
def test_every_loader_names_file_table_and_key(
    tmp_path: Path, load_file: Callable[[Path], Any], text: str, expected: str
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_file(cfg)
    assert str(info.value) == f"{cfg}: {expected}"
    assert info.value.file == str(cfg) and info.value.table and info.value.key


def test_load_hands_the_root_table_to_the_builder(tmp_path: Path) -> None:
    cfg = tmp_path / "x.toml"
    cfg.write_text("[a]\nb = 1\n")

    def build(root: Table) -> int:
        root.only("a")
        a = root.section("a")
        value = a.integer("b", REQUIRED, 0, 9)
        a.done()
        assert root.file == str(cfg) and root.base == tmp_path.absolute()
        return value

    assert load(cfg, build) == 1
    with pytest.raises(ConfigError, match=r"y\.toml: cannot read the file"):
        load(tmp_path / "y.toml", build)
