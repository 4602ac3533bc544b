"""Service announcement pieces the engine produces and the UE reads: SDP per session and the
``application/mbms-protection-description+xml`` fragment (TS 33.246 clause 6.3.1; profile.md
"Announcement")."""
