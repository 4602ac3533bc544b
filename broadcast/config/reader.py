"""The one reader of every TOML configuration file: a file read within a size cap, and tables
read through typed getters that refuse what does not fit.

Rules every configuration follows (``mbms serve``, ``stream``, ``carousel``, ``receive``):

- A file is at most :data:`MAX_TOML_BYTES` (1 MiB: a configuration is never larger, and a hostile
  or mistaken path such as a device or a huge file must not be read whole), UTF-8 and TOML
  v1.0.0.
- Every value is read by a typed getter of :class:`Table` — string, integer, number, boolean,
  IP address, path, one of a list of words, list — with its range; a value of another type or
  out of range is refused (a boolean is never a number).
- Unknown tables and keys are refused, with the nearest known name and the list of known ones: a
  typo never silently falls back to a default, and nothing is created by it.
- **Relative paths are relative to the directory of the configuration file** (``~`` is the home
  directory); a configuration built from a mapping takes the directory it is given.
- Every failure is one :class:`~broadcast.proto.errors.ConfigError` naming the file, the table
  and the key: ``stream.toml: [srtp] auth_tag: must be 80, 32 or "null" (got 64)``. A value that
  is (meant to be) a key is never echoed (``secret=True``).

A loader reads its file with :func:`load` (root table -> settings); the tables shared by several
files (``[output]``, ``[keys]``, ``[srtp]``, ``[destination]``) are read by one function each in
:mod:`broadcast.config.sections`.
"""

from __future__ import annotations

import difflib
import ipaddress
import math
import os
import tomllib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Final, TypeVar, overload

from broadcast.proto.errors import ConfigError

#: Largest configuration file read.
MAX_TOML_BYTES: Final = 1 << 20

_T = TypeVar("_T")


class Required:
    """The default of a key that must be given."""

    def __repr__(self) -> str:
        return "REQUIRED"


#: ``default`` of a getter whose key must be present.
REQUIRED: Final = Required()


def read_toml(path: str | Path, *, max_bytes: int = MAX_TOML_BYTES) -> dict[str, Any]:
    """The TOML document in ``path`` (at most ``max_bytes`` bytes) as a dict; ConfigError naming
    the file otherwise."""
    file = Path(path)
    where = str(file)
    try:
        with file.open("rb") as f:
            raw = f.read(max_bytes + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read the file: {exc.strerror or exc}", file=where) from None
    if len(raw) > max_bytes:
        raise ConfigError(f"is larger than {max_bytes} bytes", file=where)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("is not UTF-8", file=where) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=where) from None


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "a table"
    return repr(value)


def _nearest(key: str, known: list[str]) -> str | None:
    """The known name ``key`` is most likely a misspelling of: a close match, else one that
    begins the other (``sdp`` for ``sdp_file``)."""
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return close[0]
    k = key.lower()
    prefix = [n for n in known if min(len(n), len(k)) >= 3 and (k.startswith(n) or n.startswith(k))]
    return max(prefix, key=len) if prefix else None


def _names(names: Iterable[str], table: bool) -> str:
    return ", ".join(f"[{n}]" if table else n for n in sorted(names))


class Table:
    """One TOML table (or the document itself: ``name`` None) with typed getters.

    Every getter marks its key as known; :meth:`done` then refuses the keys no getter asked for.
    ``base`` is the directory relative paths are taken from (the configuration file's); ``file``
    names the file in errors.
    """

    def __init__(
        self,
        data: object,
        name: str | None,
        *,
        base: Path,
        file: str | None = None,
        item: int | None = None,
    ) -> None:
        self.name = name
        self.base = base
        self.file = file
        self.item = item
        if not isinstance(data, Mapping):
            raise self.error(f"must be a table (got {_show(data)})")
        self.data: Mapping[str, Any] = data
        self._known: list[str] = []
        self._secret: set[str] = set()

    # --- errors ----------------------------------------------------------------------------
    def error(self, message: str, key: str | None = None) -> ConfigError:
        """A ConfigError located at this table (and ``key``)."""
        return ConfigError(message, file=self.file, table=self.name, key=key, item=self.item)

    def _got(self, key: str, value: object) -> str:
        return "" if key in self._secret else f" (got {_show(value)})"

    # --- presence --------------------------------------------------------------------------
    def has(self, key: str) -> bool:
        """Whether ``key`` is present (does not mark it known)."""
        return key in self.data

    def known(self, *keys: str) -> None:
        """Mark ``keys`` as accepted without reading them."""
        for key in keys:
            if key not in self._known:
                self._known.append(key)

    def _raw(self, key: str, types: tuple[type, ...], what: str) -> Any:
        self.known(key)
        if key not in self.data:
            return None
        value = self.data[key]
        if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
            raise self.error(f"must be {what}{self._got(key, value)}", key)
        return value

    def _missing(self, key: str, default: object) -> Any:
        if isinstance(default, Required):
            raise self.error("is required", key)
        return default

    # --- typed getters ---------------------------------------------------------------------
    @overload
    def text(self, key: str, default: str | Required, *, secret: bool = ...) -> str: ...
    @overload
    def text(self, key: str, default: None = None, *, secret: bool = ...) -> str | None: ...
    def text(
        self, key: str, default: str | Required | None = None, *, secret: bool = False
    ) -> str | None:
        """A string; ``secret``: never echo the value in an error."""
        if secret:
            self._secret.add(key)
        value = self._raw(key, (str,), "a string")
        return self._missing(key, default) if value is None else str(value)

    @overload
    def integer(self, key: str, default: int | Required, low: int, high: int) -> int: ...
    @overload
    def integer(self, key: str, default: None, low: int, high: int) -> int | None: ...
    def integer(self, key: str, default: int | Required | None, low: int, high: int) -> int | None:
        """An integer ``low..high``."""
        value = self._raw(key, (int,), f"an integer {low}..{high}")
        if value is None:
            return self._missing(key, default)  # type: ignore[no-any-return]
        if not low <= value <= high:
            raise self.error(f"must be {low}..{high}{self._got(key, value)}", key)
        return int(value)

    def number(
        self,
        key: str,
        default: float | Required,
        low: float = 0.0,
        high: float = math.inf,
        *,
        above: bool = False,
    ) -> float:
        """A finite number (integer or float) ``low..high``; ``above``: greater than ``low``."""
        rule = f"> {low:g}" if above else f">= {low:g}"
        if high != math.inf:
            rule = f"{rule} and <= {high:g}"
        value = self._raw(key, (int, float), f"a number {rule}")
        if value is None:
            return float(self._missing(key, default))
        v = float(value)
        if not math.isfinite(v) or v < low or (above and v == low) or v > high:
            raise self.error(f"must be a number {rule}{self._got(key, value)}", key)
        return v

    def flag(self, key: str, default: bool) -> bool:
        """``true`` or ``false``."""
        value = self._raw(key, (bool,), "true or false")
        return default if value is None else bool(value)

    @overload
    def choice(self, key: str, choices: tuple[str, ...], default: str | Required) -> str: ...
    @overload
    def choice(self, key: str, choices: tuple[str, ...], default: None) -> str | None: ...
    def choice(
        self, key: str, choices: tuple[str, ...], default: str | Required | None
    ) -> str | None:
        """One of the words ``choices``."""
        what = f"one of {', '.join(map(_show, choices))}"
        value = self._raw(key, (str,), what)
        if value is None:
            return self._missing(key, default)  # type: ignore[no-any-return]
        if value not in choices:
            raise self.error(f"must be {what}{self._got(key, value)}", key)
        return str(value)

    @overload
    def address(self, key: str, default: str | Required, *, ipv4: bool = ...) -> str: ...
    @overload
    def address(self, key: str, default: None = None, *, ipv4: bool = ...) -> str | None: ...
    def address(
        self, key: str, default: str | Required | None = None, *, ipv4: bool = True
    ) -> str | None:
        """An IP address (``ipv4``: IPv4 only), in its normal form."""
        what = "an IPv4 address" if ipv4 else "an IP address"
        value = self._raw(key, (str,), what)
        if value is None:
            return self._missing(key, default)  # type: ignore[no-any-return]
        try:
            parsed = ipaddress.IPv4Address(value) if ipv4 else ipaddress.ip_address(value)
        except ValueError:
            raise self.error(f"must be {what}{self._got(key, value)}", key) from None
        return str(parsed)

    @overload
    def path(self, key: str, default: Path | Required) -> Path: ...
    @overload
    def path(self, key: str, default: None = None) -> Path | None: ...
    def path(self, key: str, default: Path | Required | None = None) -> Path | None:
        """A file or directory; relative to :attr:`base` (the configuration file's directory).
        An empty string counts as not given."""
        value = self._raw(key, (str,), "a path (a string)")
        if not value:
            return self._missing(key, default)  # type: ignore[no-any-return]
        return self.resolve(value)

    def resolve(self, text: str) -> Path:
        """``text`` as a path: ``~`` expanded, relative to :attr:`base`."""
        p = Path(text).expanduser()
        return p if p.is_absolute() else self.base / p

    def strings(self, key: str) -> list[str] | None:
        """A list of strings (None: not given)."""
        value = self._raw(key, (list,), "a list of strings")
        if value is not None and not all(isinstance(v, str) for v in value):
            raise self.error(f"must be a list of strings{self._got(key, value)}", key)
        return None if value is None else list(value)

    def integers(self, key: str, low: int, high: int) -> list[int] | None:
        """A list of integers ``low..high`` (None: not given)."""
        value = self._raw(key, (list,), f"a list of integers {low}..{high}")
        if value is not None and not all(
            isinstance(v, int) and not isinstance(v, bool) and low <= v <= high for v in value
        ):
            raise self.error(
                f"must be a list of integers {low}..{high}{self._got(key, value)}", key
            )
        return None if value is None else list(value)

    # --- nested tables ---------------------------------------------------------------------
    def _child(self, key: str) -> str:
        return key if self.name is None else f"{self.name}.{key}"

    def table(self, key: str) -> Table | None:
        """The sub-table ``[key]`` (``[name.key]``), None when absent."""
        self.known(key)
        if key not in self.data:
            return None
        return Table(
            self.data[key], self._child(key), base=self.base, file=self.file, item=self.item
        )

    def section(self, key: str, *, required: bool = False) -> Table:
        """The sub-table ``[key]``; absent: an empty table, or ConfigError when ``required``."""
        found = self.table(key)
        if found is not None:
            return found
        if required:
            raise ConfigError("is required", file=self.file, table=self._child(key))
        return Table({}, self._child(key), base=self.base, file=self.file, item=self.item)

    def array(self, key: str) -> list[Table]:
        """The array of tables ``[[key]]`` (empty when absent); item ``i`` is ``#i``, from 1."""
        self.known(key)
        value = self.data.get(key, [])
        if not isinstance(value, list):
            raise ConfigError(
                f"must be an array of tables: [[{self._child(key)}]]",
                file=self.file,
                table=self._child(key),
            )
        return [
            Table(v, self._child(key), base=self.base, file=self.file, item=i)
            for i, v in enumerate(value, 1)
        ]

    def only(self, *keys: str) -> None:
        """Accept these keys (tables, for the document) and refuse every other one now, before
        a missing key of a misspelt table is reported instead of the misspelling."""
        self.known(*keys)
        self.done()

    # --- the end ---------------------------------------------------------------------------
    def done(self, context: str = "") -> None:
        """Refuse every key no getter asked for, naming the nearest known one and all of them;
        ``context`` says under which condition the known keys are these (``for source = "udp"``).
        """
        unknown = [k for k in self.data if k not in self._known]
        if not unknown:
            return
        key = sorted(unknown)[0]
        root = self.name is None
        what = "unknown table" if root else "unknown key"
        near = _nearest(key, self._known)
        hint = f", did you mean {f'[{near}]' if root else near}?" if near else ""
        known = _names(self._known, root) or "none"
        where = f" {context}" if context else ""
        raise ConfigError(
            f"{what}{where}{hint} (known: {known})",
            file=self.file,
            table=self.name,
            key=f"[{key}]" if root else key,
            item=self.item,
        )


def document(data: object, *, base: Path, file: str | None = None) -> Table:
    """The root table of a parsed document."""
    if not isinstance(data, Mapping):
        raise ConfigError("must be a TOML document (a table)", file=file)
    return Table(data, None, base=base, file=file)


def load(path: str | Path, build: Callable[[Table], _T]) -> _T:
    """Read ``path`` and build its settings with ``build(root)``; every ConfigError raised on the
    way (by a getter or by a settings check below) names the file."""
    file = Path(path)
    # The file's directory, absolute and normalised (``..`` folded, symbolic links kept).
    base = Path(os.path.abspath(file)).parent
    root = document(read_toml(file), base=base, file=str(file))
    try:
        return build(root)
    except ConfigError as exc:
        raise exc.located(file=str(file)) from None


__all__ = ["MAX_TOML_BYTES", "REQUIRED", "Required", "Table", "document", "load", "read_toml"]
