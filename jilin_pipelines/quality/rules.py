"""The quality rules of a dataset, generated from its catalogue entry, and the column-wise standardisation
that evaluates them.

Every rule checks one column of a *check frame* (one row per delivered row) with one Great Expectations
expectation: natively where GX can say it (a value is present, in its code list, matches a pattern, lies in
a range), and as "this verdict column is true" where the verdict comes from a national standard implemented
in ``standards/`` (check characters, GB/T 2260 history, dates that exist). Pure: no Dagster, no GX import.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from jilin_pipelines import standards
from jilin_pipelines.catalogue import Dataset, FieldSpec, FieldType, Standard
from jilin_pipelines.catalogue.models import DEFAULT_MAX_LENGTH, Dimension, Severity
from jilin_pipelines.quality.layout import PARTY_TYPE_SUFFIX
from jilin_pipelines.standards import Reason, StandardResult

# Jilin's extent (with a small margin): 121°38'–131°19' E, 40°52'–46°18' N.
JILIN_LONGITUDE = (121.5, 131.4)
JILIN_LATITUDE = (40.8, 46.4)

RESIDENT_ID = "A"  # the traffic police's 所有人证件类型 codes, used for every party identifier
USCC = "B"

REASON_TEXT = {
    Reason.EMPTY: "empty",
    Reason.FORMAT: "not in the standard's format",
    Reason.FORBIDDEN_LETTER: "a letter the standard excludes",
    Reason.CHECK_DIGIT: "the check character does not match",
    Reason.ORG_CODE_CHECK_DIGIT: "the embedded organisation code's check character does not match",
    Reason.BIRTH_DATE_INVALID: "the birth date in the number does not exist (or lies before 1800)",
    Reason.BIRTH_DATE_FUTURE: "the birth date in the number lies in the future",
    Reason.DIVISION_UNKNOWN: "no GB/T 2260 division code",
    Reason.DIVISION_NOT_IN_FORCE: "a division code not in force when it had to be",
    Reason.DIVISION_RETIRED: "a retired division code without a current successor",
    Reason.PROVINCE_UNKNOWN: "no province abbreviation",
    Reason.ISSUER_UNKNOWN: "an issuing-office letter not in use",
    Reason.PLATE_TYPE_UNKNOWN: "an unknown plate type",
    Reason.PLATE_TYPE_MISMATCH: "the plate's format does not fit its plate type",
    Reason.DATE_INVALID: "no such date or time",
    Reason.FUTURE: "lies after the delivery day",
}


@dataclass(frozen=True)
class Rule:
    """One expectation on one column of the check frame."""

    id: str  # "<field>.<check>": stable, the asset check's name is built from it
    field: str
    source: str  # the field's name in the delivery
    check: str  # required | code_list | pattern | range | standard | format | not_future | consistency
    dimension: Dimension
    severity: Severity
    description: str
    column: str  # the check-frame column the expectation reads
    expectation: str  # not_null | in_set | match_regex | between | true
    kwargs: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def blocking(self) -> bool:
        return self.severity is Severity.block


@dataclass
class Checked:
    """A delivery standardised and ready for its expectations."""

    values: pd.DataFrame  # standard field names (typed, normalised) plus party types
    frame: pd.DataFrame  # the check frame: one column per rule's ``column``
    rules: list[Rule]
    reasons: dict[str, pd.Series]  # rule id -> reason code per row, for rules judged by a standard
    repairs: Counter  # "<field>.<repair>" -> number of values repaired


def _severity(dataset: Dataset, f: FieldSpec) -> Severity:
    # Scenario inputs are never quarantined: each gets an answer, its problems become the scenario's reasons.
    return Severity.warn if dataset.scenario_input else f.severity


def _text(raw: pd.Series) -> pd.Series:
    """Free text normalised (full-width, whitespace); empty becomes null."""
    return standards.normalise_text(raw).value


def _count_repairs(repairs: Counter, name: str, result: StandardResult) -> None:
    applied = result.repair.dropna()
    if applied.empty:
        return
    for combo, n in applied.value_counts().items():
        for repair in str(combo).split(","):
            repairs[f"{name}.{repair}"] += int(n)


def _verdict(result: StandardResult, present: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The standard's verdict as a nullable boolean (null where the value is empty) and its reason codes."""
    ok = pd.Series(result.valid.to_numpy(bool), index=present.index, dtype="boolean")
    ok[~present] = pd.NA
    return ok, result.reason.where(~result.valid.to_numpy(bool))


class _Builder:
    """Accumulates the values, check columns and rules of one dataset's standardisation."""

    def __init__(self, dataset: Dataset, raw: pd.DataFrame, day: date):
        self.dataset, self.raw, self.day = dataset, raw, day
        self.values: dict[str, pd.Series] = {}
        self.frame: dict[str, pd.Series] = {}
        self.rules: list[Rule] = []
        self.reasons: dict[str, pd.Series] = {}
        self.repairs: Counter = Counter()
        self.derived: dict[str, pd.DataFrame] = {}

    def rule(self, f: FieldSpec, check: str, dimension: Dimension, description: str, column: pd.Series,
             expectation: str, reasons: pd.Series | None = None, severity: Severity | None = None, **kwargs) -> None:
        rule_id = f"{f.name}.{check}"
        self.frame[rule_id.replace(".", "__")] = column
        self.rules.append(
            Rule(rule_id, f.name, f.source, check, dimension, severity or _severity(self.dataset, f), description,
                 rule_id.replace(".", "__"), expectation, kwargs)
        )
        if reasons is not None:
            self.reasons[rule_id] = reasons

    def standard(self, f: FieldSpec, result: StandardResult, present: pd.Series, label: str) -> None:
        _count_repairs(self.repairs, f.name, result)
        ok, reasons = _verdict(result, present)
        self.rule(f, "standard", Dimension.normativity, f"{f.source} is a valid {label}", ok, "true", reasons)

    # -- one method per kind of field -------------------------------------------------------------
    def add(self, f: FieldSpec) -> None:
        raw = self.raw[f.source]
        if f.type is FieldType.json_list:
            value, text = self._json_list(f, raw)
        elif f.type in (FieldType.date, FieldType.datetime):
            value, text = self._date(f, raw)
        elif f.type in (FieldType.integer, FieldType.decimal):
            value, text = self._number(f, raw)
        else:
            value = self._string(f, raw)
            value = self._length(f, value)
            text = value
        self.values[f.name] = value
        if f.required:
            self.rule(f, "required", Dimension.completeness, f"{f.source} is present", text, "not_null")
        if f.codes:
            self.rule(f, "code_list", Dimension.normativity, f"{f.source} is in its code list", value, "in_set",
                      value_set=list(f.codes))
        if f.pattern:
            self.rule(f, "pattern", Dimension.normativity, f"{f.source} matches {f.pattern}", value, "match_regex",
                      regex=f.pattern)
        if f.minimum is not None or f.maximum is not None:
            self.rule(f, "range", Dimension.accuracy, f"{f.source} lies in [{f.minimum}, {f.maximum}]", value,
                      "between", min_value=f.minimum, max_value=f.maximum)

    def _length(self, f: FieldSpec, value: pd.Series) -> pd.Series:
        """Free text and names are bounded (``max_length``, default ``DEFAULT_MAX_LENGTH``): a longer value fails
        the rule and is dropped from the standardised values (the delivery keeps it, in the raw landing and the
        quarantine), so it never reaches the base. Codes and identifiers are bounded by their own standards."""
        if f.standard not in (None, Standard.text, Standard.person_name) or f.codes:
            return value
        limit = f.max_length or DEFAULT_MAX_LENGTH
        length = value.str.len()
        too_long = (length > limit).fillna(False).astype(bool)
        ok = (~too_long).astype("boolean").where(value.notna(), pd.NA)
        self.rule(f, "length", Dimension.normativity, f"{f.source} has at most {limit} characters", ok, "true",
                  pd.Series("too_long", index=value.index, dtype="string").where(too_long))
        return value.where(~too_long) if too_long.any() else value

    def _string(self, f: FieldSpec, raw: pd.Series) -> pd.Series:
        if f.standard in (None, Standard.text):
            result = standards.normalise_text(raw)
            _count_repairs(self.repairs, f.name, result)
            return result.value
        if f.standard is Standard.person_name:
            result = standards.normalise_name(raw)
            _count_repairs(self.repairs, f.name, result)
            return result.value
        present = _text(raw).notna()
        if f.standard is Standard.resident_id:
            result = standards.validate_resident_id(raw, today=self.day)
            self.derived[f.name] = result.derived
            self.standard(f, result, present, "resident ID number (GB 11643)")
        elif f.standard is Standard.uscc:
            result = standards.validate_uscc(raw)
            self.standard(f, result, present, "unified social credit code (GB 32100)")
        elif f.standard is Standard.party_id:
            result = self._party(f, raw, present)
        elif f.standard is Standard.division_code:
            result = standards.validate_division(raw, to_current=True)
            self.standard(f, result, present, "current GB/T 2260 division code")
        elif f.standard is Standard.plate:
            types = self.raw[self.dataset.field("plate_type").source] if "plate_type" in self._names else None
            result = standards.validate_plate(raw, types)
            self.standard(f, result, present, "plate number (GA 36)")
        elif f.standard is Standard.device_id:
            result = standards.validate_device_id(raw)
            self.standard(f, result, present, "GB/T 28181 device ID")
        else:
            raise ValueError(f"{self.dataset.name}.{f.name}: standard {f.standard} does not apply to text")
        return result.value

    @property
    def _names(self) -> set[str]:
        return {x.name for x in self.dataset.fields}

    def _party(self, f: FieldSpec, raw: pd.Series, present: pd.Series) -> StandardResult:
        """A resident ID or a USCC: by the id-type field where the delivery has one, else by which one it is."""
        as_id = standards.validate_resident_id(raw, today=self.day)
        as_uscc = standards.validate_uscc(raw)
        if f.id_type_field is not None:
            kind = _text(self.raw[self.dataset.field(f.id_type_field).source])
        else:
            looks_like_id = as_id.value.str.fullmatch(r"\d{17}[\dX]").fillna(False).astype(bool)
            kind = pd.Series(
                np.where(as_id.valid | (~as_uscc.valid & looks_like_id), RESIDENT_ID, USCC), index=raw.index
            ).astype("string")
            kind[~present] = pd.NA
            self.values[f.name + PARTY_TYPE_SUFFIX] = kind
        is_id = (kind == RESIDENT_ID).fillna(False).to_numpy(bool)
        merged = StandardResult(
            value=as_id.value.where(is_id, as_uscc.value),
            valid=pd.Series(np.where(is_id, as_id.valid, as_uscc.valid), index=raw.index),
            reason=as_id.reason.where(is_id, as_uscc.reason),
            repaired=pd.Series(np.where(is_id, as_id.repaired, as_uscc.repaired), index=raw.index),
            repair=as_id.repair.where(is_id, as_uscc.repair),
        )
        self.derived[f.name] = as_id.derived.where(pd.Series(is_id, index=raw.index), axis=0)
        known_kind = kind.isin([RESIDENT_ID, USCC]).fillna(False).to_numpy(bool)
        self.standard(f, merged, present & known_kind, "resident ID number or unified social credit code")
        return merged

    def _date(self, f: FieldSpec, raw: pd.Series) -> tuple[pd.Series, pd.Series]:
        text = _text(raw)
        parse = standards.parse_date if f.type is FieldType.date else standards.parse_datetime
        result = parse(text, not_after=None if f.future_allowed else self.day)
        _count_repairs(self.repairs, f.name, result)
        present = text.notna()
        future = (result.reason == Reason.FUTURE).fillna(False).to_numpy(bool)
        wrong = present.to_numpy(bool) & ~result.valid.to_numpy(bool) & ~future
        fmt_ok = pd.Series(~wrong, index=raw.index, dtype="boolean").where(present, pd.NA)
        self.rule(f, "format", Dimension.normativity, f"{f.source} is a real date", fmt_ok, "true",
                  result.reason.where(pd.Series(wrong, index=raw.index)))
        if not f.future_allowed:
            not_future = pd.Series(~future, index=raw.index, dtype="boolean").where(present, pd.NA)
            self.rule(f, "not_future", Dimension.accuracy, f"{f.source} does not lie after the delivery day",
                      not_future, "true", result.reason.where(pd.Series(future, index=raw.index)))
        value = result.value.where(result.valid.to_numpy(bool) | future)
        if f.type is FieldType.date:
            value = value.dt.date.astype("object").where(value.notna(), None)
        return value, text

    def _number(self, f: FieldSpec, raw: pd.Series) -> tuple[pd.Series, pd.Series]:
        text = _text(raw)
        number = pd.to_numeric(text.str.replace(",", "", regex=False), errors="coerce").astype("Float64")
        ok = number.notna()
        if f.type is FieldType.integer:
            ok &= (number.round() == number).fillna(False)
        present = text.notna()
        fmt_ok = ok.astype("boolean").where(present, pd.NA)
        self.rule(f, "format", Dimension.normativity, f"{f.source} is a number", fmt_ok, "true",
                  pd.Series(Reason.FORMAT.value, index=raw.index, dtype="string").where(present & ~ok))
        value = number.where(ok)
        if f.standard in (Standard.longitude, Standard.latitude):
            low, high = JILIN_LONGITUDE if f.standard is Standard.longitude else JILIN_LATITUDE
            self.rule(f, "in_jilin", Dimension.accuracy, f"{f.source} lies in Jilin ({low}–{high})", value,
                      "between", min_value=low, max_value=high)
        if f.type is FieldType.integer:
            value = value.astype("Int64")
        return value, text

    def _json_list(self, f: FieldSpec, raw: pd.Series) -> tuple[pd.Series, pd.Series]:
        """A JSON array of strings (household members' ID numbers), each element validated by the standard."""
        # Elements keep their delivered form, so the resident-ID standard repairs (and counts) them itself.
        text = raw.astype("string").str.strip().replace("", pd.NA)
        present = text.notna()
        shaped = text.str.fullmatch(r'\[\s*(?:"[^"]*"\s*(?:,\s*"[^"]*"\s*)*)?\]').fillna(False).astype(bool)
        elements = text.where(shaped).str.findall(r'"([^"]*)"').explode()
        result = standards.validate_resident_id(elements.astype("string"), today=self.day)
        _count_repairs(self.repairs, f.name, result)
        valid = pd.Series(result.valid.to_numpy(bool), index=elements.index) | elements.isna()
        all_valid = valid.groupby(level=0).all().reindex(raw.index, fill_value=False)
        first_reason = result.reason.dropna().groupby(level=0).first().reindex(raw.index)
        joined = result.value.fillna("").groupby(level=0).agg(lambda v: '","'.join(v))  # noqa: PLW0108
        value = ('["' + joined + '"]').where(joined != "", "[]").reindex(raw.index).astype("string").where(shaped)
        ok = (shaped & all_valid).astype("boolean").where(present, pd.NA)
        reasons = first_reason.astype("string").where(shaped, Reason.FORMAT.value).where(present & ~ok.fillna(True))
        self.rule(f, "standard", Dimension.normativity, f"{f.source} lists valid resident ID numbers", ok, "true",
                  reasons)
        return value, text

    def consistency(self, f: FieldSpec) -> None:
        """Sex or birth date declared beside an ID number must be the ones the number carries."""
        derived = self.derived.get(f.matches_id_of, pd.DataFrame(index=self.raw.index))
        declared = self.values[f.name]
        if f.type is FieldType.date:
            births = pd.to_datetime(derived.get("birth_date", pd.Series(pd.NaT, index=self.raw.index)))
            from_id = births.dt.date.astype("object").where(births.notna(), None)
        else:
            from_id = derived.get("sex", pd.Series(pd.NA, index=self.raw.index)).astype("string")
            declared = declared.where(declared != "9")  # 9: not stated
        comparable = declared.notna() & from_id.notna()
        agree = pd.Series(declared.astype("object") == from_id.astype("object"), index=declared.index)
        ok = agree.astype("boolean").where(comparable, pd.NA)
        self.rule(f, "matches_id", Dimension.consistency, f"{f.source} agrees with {f.matches_id_of}", ok, "true",
                  pd.Series("disagrees_with_id", index=ok.index, dtype="string").where(~ok.fillna(True)),
                  severity=Severity.warn)


def check(dataset: Dataset, raw: pd.DataFrame, day: date) -> Checked:
    """Standardise one delivery (its parsed rows, source columns as text, any index) and build its check frame."""
    builder = _Builder(dataset, raw, day)
    for f in dataset.fields:
        builder.add(f)
    for f in dataset.fields:
        if f.matches_id_of:
            builder.consistency(f)
    values = pd.DataFrame(builder.values, index=raw.index)
    frame = pd.DataFrame(builder.frame, index=raw.index)
    return Checked(values, frame, builder.rules, builder.reasons, builder.repairs)


def describe(rule: Rule, reason: str | None) -> str:
    """A human-readable reason for one failed rule on one row."""
    if reason:
        try:
            return f"{rule.source}: {REASON_TEXT[Reason(reason)]}"
        except ValueError:
            return f"{rule.source}: {reason.replace('_', ' ')}"
    return f"{rule.source}: " + {
        "required": "empty",
        "code_list": "not in its code list",
        "pattern": "not in its format",
        "range": "out of range",
        "in_jilin": "outside Jilin",
        "length": "too long",
    }.get(rule.check, f"fails {rule.description}")
