"""The compiled native core: ``native/*.pyx`` (Cython) and ``native/src/*.c``, built by pip.

The package requires it: there is no pure-Python fallback in the running code. Only the faces
import it — ``broadcast.proto.mikey.batch``, ``broadcast.proto.srtp.batch``,
``broadcast.proto.flute.blocks``, ``broadcast.proto.flute.fec.raptor``,
``broadcast.proto.flute.fec.raptor_codec`` and ``broadcast.aio.sgimb.engine`` (tests may import
it directly). The pure-Python reference implementations stay, as the oracles the tests compare
the native code against.

A checkout or install without the compiled modules fails here, at the first import, with one
:class:`ImportError` naming what is missing (instead of a bare "cannot import name" later).
"""

from __future__ import annotations

from importlib.machinery import PathFinder
from typing import Final

#: The extension modules of ``pyproject.toml`` ``[tool.setuptools] ext-modules``.
MODULES: Final = ("alc_batch", "crypto", "mikey_batch", "raptor", "srtp_batch", "udp_send")

_missing = [m for m in MODULES if PathFinder.find_spec(f"{__name__}.{m}", __path__) is None]
if _missing:
    raise ImportError(
        f"broadcast._native is not built (missing: {', '.join(_missing)}): "
        "run tools/bootstrap (pip install -e .) or tools/build-native to compile native/",
        name=f"{__name__}.{_missing[0]}",
    )
del _missing
