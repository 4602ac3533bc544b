"""Service announcement pieces the engine produces and the UE reads: SDP per session and the
``application/mbms-protection-description+xml`` fragment (TS 33.246 clause 6.3.1; profile.md
"Announcement").

- :mod:`broadcast.proto.announce.sdp` — a small SDP model, writer and bounded parser (RFC 8866),
with
  the MBMS views: protected streaming media (``RTP/SAVP``) and FLUTE sessions (``a=flute-tsi``,
  ``a=source-filter``, ``a=FEC-declaration``), and builders for both.
- :mod:`broadcast.proto.announce.protection` — the protection description: key management server,
  confidentiality / integrity on-off, UICC key management required, MSK IDs (Key Number 0) and
  which MSK protects which session; writer and safe XML parser.
- :mod:`broadcast.proto.announce.announcement` — both tied together by session description URI.
- :mod:`broadcast.proto.announce.errors` — the typed errors (:class:`AnnouncementError` and below).
"""
