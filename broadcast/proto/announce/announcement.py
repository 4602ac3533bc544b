"""A User Service's announcement as the UE holds it: the protection description plus one session
description per User Service Session, tied together by the session description URIs
(TS 33.246 6.3.2.2.2: "mapping information how the MSKs are used to protect the different User
Service Sessions"; profile.md "Announcement").

:func:`assemble` checks that the two fit: with protection on, every session the protection
description maps has its SDP and every SDP is mapped to an MSK; an SDP names at least one
``RTP/SAVP`` or ``FLUTE/UDP`` media line. :func:`load_announcement` reads the files (bounded) and
names each SDP by its file name.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from broadcast.proto.announce.errors import AnnouncementError, AnnouncementMismatch, excerpt
from broadcast.proto.announce.protection import LIMITS as PROTECTION_LIMITS
from broadcast.proto.announce.protection import ProtectionDescription, parse_protection_description
from broadcast.proto.announce.sdp import DEFAULT_LIMITS as SDP_LIMITS
from broadcast.proto.announce.sdp import (
    FluteSession,
    SessionDescription,
    SrtpStream,
    flute_sessions,
    parse_sdp,
    srtp_streams,
)
from broadcast.proto.keys.ids import MskId

#: At most this many session descriptions per announcement [P].
MAX_SDP_FILES: Final = 64


class SessionKind(enum.Enum):
    STREAMING = "streaming"
    DOWNLOAD = "download"


@dataclass(frozen=True, slots=True)
class AnnouncedSession:
    """One User Service Session: its SDP, the protected streams or FLUTE channels it describes,
    and the MSK (Key Number 0) that protects it (None when the service is not protected)."""

    uri: str
    sdp: SessionDescription
    msk_id: MskId | None
    streams: tuple[SrtpStream, ...]
    flute: tuple[FluteSession, ...]

    @property
    def kind(self) -> SessionKind:
        return SessionKind.STREAMING if self.streams else SessionKind.DOWNLOAD


@dataclass(frozen=True, slots=True)
class ServiceAnnouncement:
    protection: ProtectionDescription
    sessions: tuple[AnnouncedSession, ...]

    def streaming(self) -> tuple[AnnouncedSession, ...]:
        return tuple(s for s in self.sessions if s.kind is SessionKind.STREAMING)

    def download(self) -> tuple[AnnouncedSession, ...]:
        return tuple(s for s in self.sessions if s.kind is SessionKind.DOWNLOAD)


def assemble(
    protection: ProtectionDescription, sdps: Mapping[str, SessionDescription]
) -> ServiceAnnouncement:
    """Tie the SDPs (by URI) to the protection description; raise :class:`AnnouncementError`."""
    if len(sdps) > MAX_SDP_FILES:
        raise AnnouncementMismatch(f"more than {MAX_SDP_FILES} session descriptions", field="sdp")
    if protection.protected:
        missing = [
            s.session_description for s in protection.sessions if s.session_description not in sdps
        ]
        if missing:
            raise AnnouncementMismatch(
                f"the protection description maps session {excerpt(missing[0])}, "
                "but no such session description was given",
                field="session",
            )
    sessions = []
    for uri, sd in sdps.items():
        streams = srtp_streams(sd)
        flute = flute_sessions(sd)
        if not streams and not flute:
            raise AnnouncementMismatch(
                f"session description {excerpt(uri)} has no RTP/SAVP or FLUTE/UDP media",
                field="m",
            )
        if streams and flute:
            raise AnnouncementMismatch(
                f"session description {excerpt(uri)} mixes streaming and FLUTE media", field="m"
            )
        msk_id = protection.msk_for(uri)
        if protection.protected and msk_id is None:
            raise AnnouncementMismatch(
                f"session description {excerpt(uri)} is not mapped to an MSK in the "
                "protection description",
                field="session",
            )
        sessions.append(AnnouncedSession(uri, sd, msk_id, streams, flute))
    return ServiceAnnouncement(protection, tuple(sessions))


def _read(path: Path, limit: int, what: str) -> bytes:
    try:
        with path.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise AnnouncementError(
            f"cannot read the {what} {path}: {exc.strerror}", field=what
        ) from None
    if len(data) > limit:
        raise AnnouncementError(f"the {what} {path} is larger than {limit} bytes", field=what)
    return data


def load_announcement(
    protection_file: str | Path, sdp_files: Iterable[str | Path]
) -> ServiceAnnouncement:
    """Read and check the announcement files; each SDP is named by its file name."""
    protection = parse_protection_description(
        _read(Path(protection_file), PROTECTION_LIMITS.max_bytes, "protection description")
    )
    sdps: dict[str, SessionDescription] = {}
    for file in sdp_files:
        path = Path(file)
        if path.name in sdps:
            raise AnnouncementMismatch(f"two session descriptions named {path.name}", field="sdp")
        if len(sdps) >= MAX_SDP_FILES:
            raise AnnouncementMismatch(
                f"more than {MAX_SDP_FILES} session descriptions", field="sdp"
            )
        try:
            sdps[path.name] = parse_sdp(_read(path, SDP_LIMITS.max_bytes, "session description"))
        except AnnouncementError as exc:
            raise type(exc)(f"{path.name}: {exc.detail}", field=exc.field, offset=exc.offset) from (
                None
            )
    return assemble(protection, sdps)
