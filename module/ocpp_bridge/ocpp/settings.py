"""Typed configuration items, for either version's store. PURE.

Owns what a block needs to read its configuration without knowing where it is kept: a
``Setting[T]`` is a declared item (a 1.6 key, ``v16/keys.py``; a 2.0.1 component variable,
``v201/variables.py``) that knows its default and how to turn the stored text into a ``T``;
``Config`` is what both stores offer for it: ``read(setting) -> T`` and
``on_change(setting, fn)`` (the "takes effect" hook). Blocks declare their settings next to the
code that gives them meaning; each version assembles its store's tables from those
declarations. The version-neutral core (``ocpp/common``) is given the settings it reads by the
version's adapter, so one piece of logic reads 1.6's ``StopTransactionOnInvalidId`` or
2.0.1's ``TxCtrlr.StopTxOnInvalidId`` alike.

Also owns the text codecs the declarations use (booleans, integers, comma lists).

Must never: store anything, or know a version's names.
"""

from __future__ import annotations

import re
from typing import Callable, Generic, Protocol, TypeVar

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

_INT = re.compile(r"^[+-]?[0-9]+$")


class Setting(Protocol[T_co]):
    """A declared configuration item: its label for log lines, its default, its codec."""

    @property
    def label(self) -> str: ...

    @property
    def fallback(self) -> T_co: ...

    def decode(self, raw: str | None) -> T_co: ...


class Config(Protocol):
    """What a block may do with its station's configuration store."""

    def read(self, setting: Setting[T]) -> T: ...

    def on_change(self, setting: Setting[object], fn: Callable[[], None]) -> None: ...


class Codec(Generic[T]):
    """Stored text <-> value of one kind."""

    def __init__(self, decode: Callable[[str | None], T], encode: Callable[[T], str]) -> None:
        self.decode = decode
        self.encode = encode


def _bool(raw: str | None) -> bool:
    if raw is None or raw.strip().lower() not in ("true", "false"):
        raise ValueError(f"{raw!r} is not a boolean")
    return raw.strip().lower() == "true"


def _int(raw: str | None) -> int:
    if raw is None or not _INT.match(raw.strip()):
        raise ValueError(f"{raw!r} is not an integer")
    return int(raw)


def _list(raw: str | None) -> tuple[str, ...]:
    return tuple(item.strip() for item in (raw or "").split(",") if item.strip())


def _text(raw: str | None) -> str:
    return raw if raw is not None else ""


def _optional_text(raw: str | None) -> str | None:
    return raw


BOOL: Codec[bool] = Codec(_bool, lambda v: "true" if v else "false")
INT: Codec[int] = Codec(_int, str)
LIST: Codec[tuple[str, ...]] = Codec(_list, ",".join)
TEXT: Codec[str] = Codec(_text, str)
OPTIONAL_TEXT: Codec[str | None] = Codec(_optional_text, lambda v: "" if v is None else v)
