"""Typed errors of the reference UE (refusal to start). A bad configuration is a
:class:`~broadcast.proto.errors.ConfigError`."""

from __future__ import annotations


class UeError(Exception):
    """Base of the UE's own errors. Texts name files, keys by their IDs, never key bytes."""


class UiccKeyManagementRequired(UeError):
    """The announcement requires UICC key management and this UE (ME-based) has none: the UE
    shall only access the service with an MBMS-capable UICC application (TS 33.246 6.3.2.2.2)."""
