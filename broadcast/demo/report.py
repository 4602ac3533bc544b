"""The demo's verdict: per-UE checks, the summary, the final table and the JSON report.

JSON schema ``mbms-demo-report/1`` (``--json FILE``; every list of MTKs names them
``"<MSK ID>/<MTK ID>"`` in hex, MSK IDs are 8 hex digits, no key byte anywhere)::

    {
      "schema": "mbms-demo-report/1",
      "ok": bool,                      # every UE passed and the run checks passed
      "options": {"duration_s", "ues", "loss_percent", "seed", "fec", "decode_media",
                  "pcap", "keylog", "net"},     # net: the plan's 127.net.0.0/16
      "timeline": {...},               # broadcast.demo.timeline.Timeline, seconds
      "summary": {
        "ues": int, "ues_ok": int, "failed_ues": [int],
        "mtk_switches": int,           # SRTP traffic changed MTK this often (stream)
        "msk_rotations": int,          # rotations completed in every Key Group (NEXT pushed,
                                       # then promoted to CURRENT)
        "run_checks": {"mtk_switches": bool, "msk_rotation": bool, "registration": bool,
                       "complete": bool},      # complete: not ended early by a signal
        "msk": {"<key group>": {"msks": [MSK ID], "rotations": [{"from", "to", "pushed"}]}},
        "stream": {"mtks_sent": [...], "mtks_used": [...], "srtp_sent": int,
                   "srtcp_sent": int, "media_frames": int, "status": {...}},
        "carousel": {"mtks": [...], "stats": {...}},
        "files": [{"name", "size", "md5"}],
        "bmsc": {...},                 # the BM-SC's counters and delivery states
        "registration_s": float,       # start of the UEs until all held both MSKs
        "interrupted": bool,           # SIGINT/SIGTERM ended the run early
        "pcap_packets": int | null
      },
      "ues": [ {
        "ue": int, "impi": str, "b_tid": str, "ok": bool, "failures": [str],
        "checks": {"msk_over_digest", "msk_acked", "all_msks", "stream_mtks",
                   "download_mtks", "srtp", "files", "media": bool},
        "msk": {"challenges", "requests_ok", "pushes", "acks_sent", "acks_resent",
                "held": {"<key group>": [MSK ID]}, "missed_msk_signals", "rerequests"},
        "streaming": {"mtks_received": [...], "mtks_missing": [...], "srtp_received",
                      "srtp_decrypted", "srtp_undecryptable": {reason: n},
                      "decrypted_percent": float, "srtcp_decrypted",
                      "srtcp_undecryptable": {reason: n}},
        "download": {"mtks_received": [...], "mtks_missing": [...], "files_expected",
                     "files_ok", "files": [{"name", "size", "md5", "ok"}], "mtk_replays",
                     "rejected": {reason: n}},
        "media": {"video_frames", "audio_frames", "undecodable", "incomplete"} | null,
        "link": {"received": {kind: n}, "dropped": {kind: n}, "sent": {kind: n}}
      } ]
    }

Checks per UE — without loss: the MSK request was answered over HTTP Digest (challenge, 200,
``rspauth`` verified); every MSK push was ACKed; the UE holds every MSK the BM-SC made for both
Key Groups; it received every streaming MTK message sent and every carousel MTK; it decrypted
every SRTP and SRTCP packet the stream sent (none lost, none undecryptable); every file arrived
with its size and MD5 (also on disk). With loss: the MTKs that protected traffic, ≥ 99 % of the
SRTP packets it received decrypted, and still every file. ``--decode-media``: video and audio
frames decoded, none undecodable without loss.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Final

from broadcast.demo.scenario import SampleFile
from broadcast.demo.timeline import Timeline

SCHEMA: Final = "mbms-demo-report/1"
#: Least share of received SRTP packets a UE must decrypt when the link loses packets.
MIN_DECRYPTED_PERCENT_WITH_LOSS: Final = 99.0
#: Least stream MTK switches a run must show.
MIN_MTK_SWITCHES: Final = 3

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Expectations:
    """What the senders did (the yardstick)."""

    stream_mtks_sent: tuple[str, ...]
    stream_mtks_used: tuple[str, ...]
    carousel_mtks: tuple[str, ...]
    msks: Mapping[int, tuple[str, ...]]
    srtp_sent: int
    srtcp_sent: int
    files: tuple[SampleFile, ...]
    lossless: bool
    decode_media: bool


def _counters(section: Any) -> Json:
    if isinstance(section, list) and section and isinstance(section[0], dict):
        counters = section[0].get("counters", {})
        return counters if isinstance(counters, dict) else {}
    return {}


def _int(d: Mapping[str, Any], key: str) -> int:
    v = d.get(key, 0)
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


def _reasons(d: Mapping[str, Any], key: str) -> dict[str, int]:
    v = d.get(key, {})
    return {str(k): n for k, n in v.items() if isinstance(n, int)} if isinstance(v, dict) else {}


def _missing(expected: Sequence[str], got: Sequence[str]) -> list[str]:
    have = set(got)
    return [m for m in expected if m not in have]


def evaluate_ue(
    *,
    index: int,
    impi: str,
    b_tid: str,
    ue: Json,
    link: Json,
    media: Json | None,
    disk_md5: Mapping[str, str],
    expect: Expectations,
) -> Json:
    """One UE's section of the report (see the module doc) from its own report (``ue``: the
    reference UE's JSON), its link counters, its media check and the MD5s of its written
    files."""
    failures: list[str] = []
    msk = ue.get("msk", {}) if isinstance(ue.get("msk"), dict) else {}
    client = msk.get("client", {}) if isinstance(msk.get("client"), dict) else {}
    held: dict[str, list[str]] = {}
    for name in msk.get("ids", []):
        msk_id = str(name).rsplit("/", 1)[-1].lower()
        group = str(int(msk_id[:4], 16)) if len(msk_id) == 8 else "?"
        held.setdefault(group, []).append(msk_id)
    pushes = _int(client, "msk_received")
    acks = _int(client, "ack_sent")
    checks: dict[str, bool] = {}

    checks["msk_over_digest"] = (
        _int(client, "initial_request_ok") == 1
        and _int(client, "challenges") >= 1
        and _int(client, "http_ok") >= 1
    )
    if not checks["msk_over_digest"]:
        failures.append("no MSK request answered over HTTP Digest")
    checks["msk_acked"] = pushes >= 1 and acks >= pushes
    if not checks["msk_acked"]:
        failures.append(f"{pushes} MSK pushes verified, {acks} ACKed")
    missing_msks = [
        m for group, ids in expect.msks.items() for m in ids if m not in held.get(str(group), [])
    ]
    checks["all_msks"] = not missing_msks
    if missing_msks:
        failures.append("MSKs missing: " + ", ".join(missing_msks))

    st = _counters(ue.get("streaming"))
    st_mtks = [str(m) for m in st.get("mtk_ids", [])]
    want_stream = expect.stream_mtks_sent if expect.lossless else expect.stream_mtks_used
    st_missing = _missing(want_stream, st_mtks)
    checks["stream_mtks"] = bool(st_mtks) and not st_missing
    if not checks["stream_mtks"]:
        failures.append("streaming MTKs missing: " + (", ".join(st_missing) or "all"))
    decrypted = _int(st, "srtp_decrypted")
    undecryptable = _reasons(st, "srtp_undecryptable")
    received = decrypted + sum(undecryptable.values())
    percent = 100.0 * decrypted / received if received else 0.0
    srtcp_decrypted = _int(st, "srtcp_decrypted")
    srtcp_bad = _reasons(st, "srtcp_undecryptable")
    if expect.lossless:
        checks["srtp"] = (
            decrypted == expect.srtp_sent
            and decrypted > 0
            and not undecryptable
            and srtcp_decrypted == expect.srtcp_sent
            and not srtcp_bad
        )
        if not checks["srtp"]:
            failures.append(
                f"SRTP: {decrypted} of {expect.srtp_sent} sent decrypted, undecryptable "
                f"{undecryptable}; SRTCP {srtcp_decrypted} of {expect.srtcp_sent}, {srtcp_bad}"
            )
    else:
        checks["srtp"] = received > 0 and percent >= MIN_DECRYPTED_PERCENT_WITH_LOSS
        if not checks["srtp"]:
            failures.append(f"SRTP: {percent:.2f} % of {received} received packets decrypted")

    dl = _counters(ue.get("download"))
    dl_mtks = [str(m) for m in dl.get("mtk_ids", [])]
    dl_missing = _missing(expect.carousel_mtks, dl_mtks)
    checks["download_mtks"] = bool(dl_mtks) and not dl_missing
    if not checks["download_mtks"]:
        failures.append("download MTKs missing: " + (", ".join(dl_missing) or "all"))
    got: dict[str, tuple[int, str]] = {}
    for f in dl.get("received_files", []):
        if isinstance(f, dict):
            got[str(f.get("name"))] = (_int(f, "size"), str(f.get("md5")))
    files = []
    for sample in expect.files:
        size, md5 = got.get(sample.name, (0, ""))
        ok = size == sample.size and md5 == sample.md5 and disk_md5.get(sample.name) == sample.md5
        files.append({"name": sample.name, "size": size, "md5": md5, "ok": ok})
    files_ok = sum(1 for f in files if f["ok"])
    checks["files"] = files_ok == len(expect.files)
    if not checks["files"]:
        bad = [str(f["name"]) for f in files if not f["ok"]]
        failures.append("files not recovered intact: " + ", ".join(bad))

    checks["media"] = True
    if media is not None:
        checks["media"] = (
            _int(media, "video_frames") > 0
            and _int(media, "audio_frames") > 0
            and (not expect.lossless or _int(media, "undecodable") == 0)
        )
        if not checks["media"]:
            failures.append(f"media check: {media}")

    return {
        "ue": index,
        "impi": impi,
        "b_tid": b_tid,
        "ok": not failures,
        "failures": failures,
        "checks": checks,
        "msk": {
            "challenges": _int(client, "challenges"),
            "requests_ok": _int(client, "http_ok"),
            "pushes": pushes,
            "acks_sent": acks,
            "acks_resent": _int(client, "ack_resent"),
            "held": held,
            "missed_msk_signals": len(ue.get("missed_msk_updates", []) or []),
            "rerequests": _int(client, "rerequests"),
        },
        "streaming": {
            "mtks_received": st_mtks,
            "mtks_missing": st_missing,
            "srtp_received": received,
            "srtp_decrypted": decrypted,
            "srtp_undecryptable": undecryptable,
            "decrypted_percent": round(percent, 3),
            "srtcp_decrypted": srtcp_decrypted,
            "srtcp_undecryptable": srtcp_bad,
        },
        "download": {
            "mtks_received": dl_mtks,
            "mtks_missing": dl_missing,
            "files_expected": len(expect.files),
            "files_ok": files_ok,
            "files": files,
            "mtk_replays": _int(dl, "mtk_replays"),
            "rejected": _reasons(dl, "rejected"),
        },
        "media": media,
        "link": link,
    }


def build_report(
    *,
    options: Json,
    timeline: Timeline,
    summary: Json,
    ues: list[Json],
) -> Json:
    """The whole report; ``summary`` carries the run facts, ``run_checks`` is filled here."""
    switches = int(summary.get("mtk_switches", 0))
    rotations = int(summary.get("msk_rotations", 0))
    run_checks = {
        "mtk_switches": switches >= MIN_MTK_SWITCHES,
        "msk_rotation": rotations >= 1,
        "registration": bool(summary.get("registered", False)),
        "complete": not summary.get("interrupted", False),
    }
    failed = [u["ue"] for u in ues if not u["ok"]]
    summary = {
        **summary,
        "ues": len(ues),
        "ues_ok": len(ues) - len(failed),
        "failed_ues": failed,
        "run_checks": run_checks,
    }
    return {
        "schema": SCHEMA,
        "ok": not failed and all(run_checks.values()),
        "options": options,
        "timeline": asdict(timeline),
        "summary": summary,
        "ues": ues,
    }


def dumps(report: Json) -> str:
    return json.dumps(report, indent=2) + "\n"


def _yes(ok: bool) -> str:
    return "yes" if ok else "NO"


def final_table(report: Json) -> str:
    """The text printed at the end: one row per UE and the run's summary."""
    header = (
        "UE",
        "Digest",
        "ACKs",
        "MSKs",
        "stream MTKs",
        "SRTP decrypted",
        "DL MTKs",
        "files",
        "dropped",
        "result",
    )
    rows: list[tuple[str, ...]] = [header]
    for u in report["ues"]:
        st, dl, m = u["streaming"], u["download"], u["msk"]
        held = sum(len(v) for v in m["held"].values())
        dropped = sum(u["link"].get("dropped", {}).values())
        rows.append(
            (
                str(u["ue"]),
                _yes(u["checks"]["msk_over_digest"]),
                f"{m['acks_sent']}/{m['pushes']}",
                str(held),
                f"{len(st['mtks_received'])} (-{len(st['mtks_missing'])})",
                f"{st['srtp_decrypted']}/{st['srtp_received']} ({st['decrypted_percent']:.2f} %)",
                f"{len(dl['mtks_received'])} (-{len(dl['mtks_missing'])})",
                f"{dl['files_ok']}/{dl['files_expected']}",
                str(dropped),
                "ok" if u["ok"] else "FAILED",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    s = report["summary"]
    stream, carousel = s["stream"], s["carousel"]
    lines.append("")
    lines.append(
        f"stream: {s['mtk_switches']} MTK switches, {len(stream['mtks_sent'])} MTK messages "
        f"announced, {stream['srtp_sent']} SRTP + {stream['srtcp_sent']} SRTCP packets sent, "
        f"{stream['media_frames']} media frames"
    )
    lines.append(f"carousel: MTKs {', '.join(carousel['mtks']) or '-'}")
    for group, info in sorted(s["msk"].items()):
        rot = "; ".join(
            f"{r['from']} -> {r['to']} pushed to {r['pushed']} UEs" for r in info["rotations"]
        )
        lines.append(f"Key Group {group}: MSKs {', '.join(info['msks'])}; rotation {rot or '-'}")
    for u in report["ues"]:
        for failure in u["failures"]:
            lines.append(f"UE {u['ue']}: {failure}")
    for name, ok in s["run_checks"].items():
        if not ok:
            lines.append(f"run check failed: {name}")
    verdict = "every UE passed" if report["ok"] else "FAILED"
    lines.append(f"result: {s['ues_ok']}/{s['ues']} UEs ok — {verdict}")
    return "\n".join(lines) + "\n"


__all__ = [
    "MIN_DECRYPTED_PERCENT_WITH_LOSS",
    "MIN_MTK_SWITCHES",
    "SCHEMA",
    "Expectations",
    "build_report",
    "dumps",
    "evaluate_ue",
    "final_table",
]
