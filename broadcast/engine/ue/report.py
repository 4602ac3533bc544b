"""The reference UE's final report: what it did, as a text table and as JSON.

One :class:`UeReport` per run: the outcome (``ran``, ``not-protected`` — both confidentiality
and integrity off, so no key management — or ``refused`` — UICC key management required), the
service's protection as announced, the MSKs the UE holds (by source; the MSK client adds its own
counters under ``msk.client``), one section per streaming session (the
:class:`~broadcast.engine.ue.stream_receiver.StreamingStats` counters) and per download session (the
download receiver's counters), and the missed-MSK-update signals. No key byte ever appears here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Final

JsonValue = str | int | float | bool | None | list["JsonValue"] | dict[str, "JsonValue"]

STATUS_RAN: Final = "ran"
STATUS_NOT_PROTECTED: Final = "not-protected"
STATUS_REFUSED: Final = "refused"

#: Row labels of the text table for the known counters (others show their key).
LABELS: Final[dict[str, str]] = {
    "mikey_received": "MIKEY messages received",
    "mtk_accepted": "MTKs accepted",
    "mtk_resends": "MTK messages re-sent (already known)",
    "late_mtks": "late MTKs (after packets under them)",
    "mtk_rejected": "MIKEY messages rejected",
    "srtp_decrypted": "SRTP packets decrypted",
    "srtp_undecryptable": "SRTP packets undecryptable",
    "srtcp_decrypted": "SRTCP packets decrypted",
    "srtcp_undecryptable": "SRTCP packets undecryptable",
    "roc_from_mikey": "ROCs taken from MTK messages",
    "roc_resyncs": "ROC resynchronisations (RFC 4771)",
    "missed_msk_signals": "missed MSK update signals",
    "policy_conflicts": "SRTP policy conflicts",
    "consumer_errors": "RTP consumer errors",
    "mtks": "MTKs received",
    "files": "files received",
    "bytes": "file bytes received",
    "packets": "packets received",
    "waiting": "files waiting for their MTK",
    "rejected": "rejected",
    "mtk_replays": "MTK objects refused as replays",
    "content_md5_checked": "files with Content-MD5 checked",
    "mtk_ids": "MTK IDs (listed in the JSON report)",
    "received_files": "files listed in the JSON report",
}


@dataclass
class SessionReport:
    """One session: its announcement URI, kind, sockets and counters."""

    uri: str
    kind: str
    listening: list[str] = field(default_factory=list)
    counters: dict[str, JsonValue] = field(default_factory=dict)

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "uri": self.uri,
            "kind": self.kind,
            "listening": list(self.listening),
            "counters": dict(self.counters),
        }


@dataclass
class UeReport:
    """Everything ``mbms receive`` reports (see the module doc)."""

    status: str
    message: str = ""
    duration_s: float | None = None
    service: dict[str, JsonValue] = field(default_factory=dict)
    msk: dict[str, JsonValue] = field(default_factory=dict)
    streaming: list[SessionReport] = field(default_factory=list)
    download: list[SessionReport] = field(default_factory=list)
    missed_msk_updates: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "status": self.status,
            "message": self.message,
            "duration_s": None if self.duration_s is None else round(self.duration_s, 3),
            "service": dict(self.service),
            "msk": dict(self.msk),
            "streaming": [s.to_json() for s in self.streaming],
            "download": [s.to_json() for s in self.download],
            "missed_msk_updates": list(self.missed_msk_updates),
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=False) + "\n"

    def to_text(self) -> str:
        lines = [f"mbms receive: {self.status}" + (f" — {self.message}" if self.message else "")]
        if self.duration_s is not None:
            lines.append(f"ran for {self.duration_s:.1f} s")
        if self.service:
            lines.append(
                "service: " + ", ".join(_service_item(k, v) for k, v in self.service.items())
            )
        if self.msk:
            plain = {k: v for k, v in self.msk.items() if not isinstance(v, dict)}
            lines.append("MSKs: " + ", ".join(f"{k} {_short(v)}" for k, v in plain.items()))
            for key, value in self.msk.items():
                if isinstance(value, dict):
                    lines.append(f"MSK {key.replace('_', ' ')}:")
                    lines += _table(value)
        for section in (*self.streaming, *self.download):
            lines.append("")
            lines.append(f"{section.kind} session {section.uri}")
            for where in section.listening:
                lines.append(f"  listening on {where}")
            lines += _table(section.counters)
        if self.missed_msk_updates:
            lines.append("")
            lines.append("missed MSK updates signalled: " + ", ".join(self.missed_msk_updates))
        return "\n".join(lines) + "\n"


def _service_item(key: str, value: JsonValue) -> str:
    if key in ("confidentiality", "integrity") and isinstance(value, bool):
        return f"{key} {'on' if value else 'off'}"
    return f"{key.replace('_', ' ')} {_short(value)}"


def _short(value: JsonValue) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_short(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "-" if value is None else str(value)


#: Tables whose values are not counts to add up (MSK ID -> HTTP status).
_NO_TOTAL: Final = frozenset({"statuses"})


def _table(counters: dict[str, JsonValue]) -> list[str]:
    rows: list[tuple[str, str]] = []
    for key, value in counters.items():
        label = LABELS.get(key, key.replace("_", " "))
        if isinstance(value, dict):
            if key not in _NO_TOTAL and all(
                isinstance(v, int) and not isinstance(v, bool) for v in value.values()
            ):
                total = sum(v for v in value.values() if isinstance(v, int))
                rows.append((label, str(total)))
            else:
                rows.append((label, ""))
            rows += [(f"  {k}", _short(v)) for k, v in value.items()]
        elif isinstance(value, list):
            rows.append((label, str(len(value))))
        else:
            rows.append((label, _short(value)))
    if not rows:
        return []
    width = max(len(r[0]) for r in rows)
    numbers = [len(v) for _, v in rows if v.isdigit()]
    vwidth = max(numbers, default=0)
    return [
        f"  {name:<{width}}  {value:>{vwidth}}"
        if value.isdigit()
        else f"  {name:<{width}}  {value}"
        for name, value in rows
    ]
