"""Typed errors of the key model."""

from __future__ import annotations


class KeyModelError(Exception):
    """Base of every key-model error. Messages never contain key material."""


class InvalidIdentifier(KeyModelError, ValueError):
    """An identifier (Key Domain ID, MSK ID, MTK ID, MUK ID) is out of range or malformed."""


class InvalidKeyMaterial(KeyModelError, ValueError):
    """Key bytes of the wrong type or length."""


class MtkIdExhausted(KeyModelError):
    """The MSK's MTK ID validity range is used up: the caller must rotate the MSK."""


class CounterExhausted(KeyModelError):
    """A 32-bit MIKEY TS counter reached its maximum: the key it belongs to must be replaced."""


class UnknownKey(KeyModelError, LookupError):
    """The store holds no such key domain, key group, MSK or MUK."""


class KeyStateError(KeyModelError):
    """The requested transition of an MSK's state is not allowed."""


class DuplicateKey(KeyModelError, ValueError):
    """The store already holds this key domain, key group or MSK (Key Numbers are unique)."""


class KeyStoreError(KeyModelError):
    """The key store failed (closed, unsupported schema version, database error).

    When an allocation raises it, no value was handed out, so a retry can never return a value
    that an earlier call returned.
    """
