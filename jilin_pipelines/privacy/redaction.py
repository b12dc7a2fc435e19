"""The redaction service: personal values masked in any free text before it leaves the process — run-failure
alerts, logs, step errors and metadata, OpenLineage events, the CLI's output. One home, so every channel masks the
same values the same way.

:func:`mask_free_text` masks, with the rules of :mod:`jilin_pipelines.standards.masking`, every resident ID number
(18 or 15 digits), USCC, mobile or landline number, and every value written after the name of a personal field of
the catalogue or a generic personal key (``owner_name=张三``, ``'xm': '张三'``, ``姓名：张三``). A bare name in
running text (``张三的申请``) cannot be told from other words and is not masked: put personal values in messages
only as ``key=value``.

Imports nothing of the pipeline's layers but the catalogue (read on first use) and the masking rules, so every
layer may use it.
"""

from __future__ import annotations

import re
from functools import cache

from jilin_pipelines.standards.masking import mask_value


# Keys that say "a personal value follows", besides the catalogue's personal fields.
_GENERIC_KEYS = {
    "name": ("name", "person_name", "holder_name", "owner_name", "姓名", "名字", "持证人", "申请人"),
    "resident_id": ("id_number", "id_no", "resident_id", "id_card", "身份证", "身份证号", "身份证号码",
                    "公民身份号码", "证件号码", "证件号"),
    "phone": ("phone", "mobile", "telephone", "tel", "电话", "手机", "手机号", "手机号码", "联系电话"),
}
_ID = r"(?<![\dA-Za-z])(?:\d{17}[\dXx]|\d{15})(?![\dA-Za-z])"
_USCC_CHAR = "[0-9A-HJ-NP-RTUW-Y]"
_USCC = rf"(?<![\dA-Za-z]){_USCC_CHAR}{{2}}\d{{6}}{_USCC_CHAR}{{10}}(?![\dA-Za-z])"
_PHONE = r"(?<![\d+])(?:\+?86[- ]?)?1[3-9]\d{9}(?!\d)|(?<!\d)0\d{2,3}-\d{7,8}(?!\d)"
_VALUE_END = r"\s,;:|，；：、。)\]}>'\"“”‘’"


@cache
def _keyed_kinds() -> dict[str, str]:
    """Key → mask rule for every personal field of the catalogue (source and standard names)."""
    from jilin_pipelines.catalogue import Standard, catalogue  # the catalogue is read once, on first use

    kinds: dict[str, str] = {}
    for kind, keys in _GENERIC_KEYS.items():
        kinds.update(dict.fromkeys(keys, kind))
    for entry in catalogue().entries:
        for f in entry.dataset.fields:
            if not f.personal:
                continue
            if f.standard in (Standard.resident_id, Standard.party_id):
                kind = "resident_id"
            else:  # names, birth dates, lists of IDs: keep only the first character (the name rule)
                kind = "name"
            for key in (f.source, f.name):
                kinds.setdefault(key, kind)
    return kinds


@cache
def _keyed_kinds_folded() -> dict[str, str]:
    folded: dict[str, str] = {}
    for key, kind in _keyed_kinds().items():
        folded.setdefault(key.casefold(), kind)
    return folded


@cache
def _pattern() -> re.Pattern[str]:
    keys = sorted(_keyed_kinds(), key=len, reverse=True)
    ascii_keys = "|".join(re.escape(k) for k in keys if k.isascii())
    other_keys = "|".join(re.escape(k) for k in keys if not k.isascii())
    key = rf"(?i:(?<![A-Za-z0-9_])(?:{ascii_keys})(?![A-Za-z0-9_])|(?:{other_keys}))"
    keyed = (
        rf"(?P<key>{key})(?P<sep>['\"]?\s*[=:：]\s*)"
        rf"(?:(?P<q>['\"])(?P<qval>[^'\"\n]*)(?P=q)|(?P<val>[^{_VALUE_END}]+))"
    )
    return re.compile(rf"{keyed}|(?P<id>{_ID})|(?P<uscc>{_USCC})|(?P<phone>{_PHONE})")


def _masked(value: str, kind: str) -> str:
    return mask_value(value, kind) or ""


def _replace(m: re.Match[str]) -> str:
    if m.group("key") is not None:
        kind = _keyed_kinds_folded()[m.group("key").casefold()]
        if m.group("q") is not None:
            q = m.group("q")
            return f"{m.group('key')}{m.group('sep')}{q}{_masked(m.group('qval'), kind)}{q}"
        return f"{m.group('key')}{m.group('sep')}{_masked(m.group('val'), kind)}"
    for kind in ("id", "uscc", "phone"):
        if m.group(kind) is not None:
            return _masked(m.group(kind), {"id": "resident_id"}.get(kind, kind))
    raise AssertionError("unreachable")  # pragma: no cover


def mask_free_text(text: str) -> str:
    """Mask personal values in free text with the rules of ``standards.masking`` (see the module doc)."""
    return _pattern().sub(_replace, text)


def mask_optional(text: str | None) -> str | None:
    return None if text is None else mask_free_text(str(text))
