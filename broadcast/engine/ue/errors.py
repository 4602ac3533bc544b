"""Typed errors of the reference UE (configuration, refusal to start)."""

from __future__ import annotations


class UeError(Exception):
    """Base of the UE's own errors. Texts name files, keys by their IDs, never key bytes."""


class UeConfigError(UeError):
    """The UE configuration (TOML) is missing, unreadable or invalid."""


class UiccKeyManagementRequired(UeError):
    """The announcement requires UICC key management and this UE (ME-based) has none: the UE
    shall only access the service with an MBMS-capable UICC application (TS 33.246 6.3.2.2.2)."""
