"""The quality rules of a dataset, declared from its catalogue entry, and the column-wise standardisation
that evaluates them.

Every rule checks one column of a *check frame* (one row per delivered row) with one Great Expectations
expectation: natively where GX can say it (a value is present, in its code list, matches a pattern, lies in
a range), and as "this verdict column is true" where the verdict comes from a national standard implemented
in ``standards/`` (check characters, GB/T 2260 history, dates that exist).

Declaration and evaluation are apart: :func:`declare` lists a dataset's rules from the catalogue alone (the
Dagster layer declares its checks from it when it loads), :func:`check` standardises a delivery and computes the
column each declared rule reads — and refuses a delivery's evaluation that judged other rules than those declared.
Pure: no Dagster, no GX import.
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
    check: str  # required | code_list | pattern | range | standard | length | format | not_future | in_jilin
    #             | matches_id
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


# -- the declaration: which rules a dataset has, from its catalogue entry alone ----------------------------------

#: What a field of each standard that validates text is said to be, in its ``standard`` rule's description.
STANDARD_LABELS = {
    Standard.resident_id: "resident ID number (GB 11643)",
    Standard.uscc: "unified social credit code (GB 32100)",
    Standard.party_id: "resident ID number or unified social credit code",
    Standard.division_code: "current GB/T 2260 division code",
    Standard.plate: "plate number (GA 36)",
    Standard.device_id: "GB/T 28181 device ID",
}

#: The standards of free text: normalised, never refused, but bounded in length.
FREE_TEXT = (None, Standard.text, Standard.person_name)

#: The rules whose expectation reads the field itself: its standardised value, or (``required``) its normalised
#: text, present even where the value failed to parse. Every other rule reads a column the evaluation computes.
READS_FIELD = {"required": "text", "code_list": "value", "pattern": "value", "range": "value"}


def _severity(dataset: Dataset, f: FieldSpec) -> Severity:
    # Scenario inputs are never quarantined: each gets an answer, its problems become the scenario's reasons.
    return Severity.warn if dataset.scenario_input else f.severity


def _rule_id(f: FieldSpec, check: str) -> str:
    """``<field>.<check>``: the same in the declaration and the evaluation."""
    return f"{f.name}.{check}"


def _rule(dataset: Dataset, f: FieldSpec, check: str, dimension: Dimension, description: str, expectation: str,
          severity: Severity | None = None, **kwargs) -> Rule:
    """One rule of field ``f``: its id and check-frame column follow from the field's name and the check."""
    rule_id = _rule_id(f, check)
    return Rule(rule_id, f.name, f.source, check, dimension, severity or _severity(dataset, f), description,
                rule_id.replace(".", "__"), expectation, kwargs)


def _length_limit(f: FieldSpec) -> int | None:
    """The most characters a value of ``f`` may have: free text and names are bounded (``max_length``, default
    ``DEFAULT_MAX_LENGTH``); codes and identifiers (None) by their own standards."""
    if f.standard not in FREE_TEXT or f.codes:
        return None
    return f.max_length or DEFAULT_MAX_LENGTH


def _text_rules(dataset: Dataset, f: FieldSpec) -> list[Rule]:
    """A text field's own rule: its length for free text and names, else the verdict of its national standard."""
    if f.standard in FREE_TEXT:
        limit = _length_limit(f)
        if limit is None:
            return []
        return [_rule(dataset, f, "length", Dimension.normativity, f"{f.source} has at most {limit} characters",
                      "true")]
    if f.standard not in STANDARD_LABELS:
        raise ValueError(f"{dataset.name}.{f.name}: standard {f.standard} does not apply to text")
    return [_rule(dataset, f, "standard", Dimension.normativity, f"{f.source} is a valid {STANDARD_LABELS[f.standard]}",
                  "true")]


def _type_rules(dataset: Dataset, f: FieldSpec) -> list[Rule]:
    """The rules a field's type (and its standard) brings, before the catalogue's own expectations."""
    if f.type is FieldType.json_list:
        return [_rule(dataset, f, "standard", Dimension.normativity, f"{f.source} lists valid resident ID numbers",
                      "true")]
    if f.type in (FieldType.date, FieldType.datetime):
        rules = [_rule(dataset, f, "format", Dimension.normativity, f"{f.source} is a real date", "true")]
        if not f.future_allowed:
            rules.append(_rule(dataset, f, "not_future", Dimension.accuracy,
                               f"{f.source} does not lie after the delivery day", "true"))
        return rules
    if f.type in (FieldType.integer, FieldType.decimal):
        rules = [_rule(dataset, f, "format", Dimension.normativity, f"{f.source} is a number", "true")]
        if f.standard in (Standard.longitude, Standard.latitude):
            low, high = JILIN_LONGITUDE if f.standard is Standard.longitude else JILIN_LATITUDE
            rules.append(_rule(dataset, f, "in_jilin", Dimension.accuracy, f"{f.source} lies in Jilin ({low}–{high})",
                               "between", min_value=low, max_value=high))
        return rules
    return _text_rules(dataset, f)


def _catalogued_rules(dataset: Dataset, f: FieldSpec) -> list[Rule]:
    """The expectations the catalogue states for a field: present, in its code list, matching its pattern, in
    its range."""
    rules = []
    if f.required:
        rules.append(_rule(dataset, f, "required", Dimension.completeness, f"{f.source} is present", "not_null"))
    if f.codes:
        rules.append(_rule(dataset, f, "code_list", Dimension.normativity, f"{f.source} is in its code list",
                           "in_set", value_set=list(f.codes)))
    if f.pattern:
        rules.append(_rule(dataset, f, "pattern", Dimension.normativity, f"{f.source} matches {f.pattern}",
                           "match_regex", regex=f.pattern))
    if f.minimum is not None or f.maximum is not None:
        rules.append(_rule(dataset, f, "range", Dimension.accuracy, f"{f.source} lies in [{f.minimum}, {f.maximum}]",
                           "between", min_value=f.minimum, max_value=f.maximum))
    return rules


def declare(dataset: Dataset) -> list[Rule]:
    """The dataset's rules, in the order its check frame and its expectation results follow: per field those of
    its type and standard, then the catalogue's; last, the consistency of sex and birth date with an ID number
    (a warning). From the catalogue entry alone: no delivery, nothing evaluated, so the Dagster layer can declare
    its checks when it loads."""
    rules = [r for f in dataset.fields for r in (*_type_rules(dataset, f), *_catalogued_rules(dataset, f))]
    rules += [_rule(dataset, f, "matches_id", Dimension.consistency, f"{f.source} agrees with {f.matches_id_of}",
                    "true", severity=Severity.warn)
              for f in dataset.fields if f.matches_id_of]
    return rules


# -- the evaluation: a delivery standardised, and the columns its rules read ---------------------------------

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
    """Accumulates the values, computed check columns and repairs of one dataset's standardisation."""

    def __init__(self, dataset: Dataset, raw: pd.DataFrame, day: date):
        self.dataset, self.raw, self.day = dataset, raw, day
        self.values: dict[str, pd.Series] = {}
        self.fields: dict[str, dict[str, pd.Series]] = {}  # field -> its "value" and "text", as READS_FIELD reads them
        self.columns: dict[str, pd.Series] = {}  # rule id -> the column it reads, for the rules not in READS_FIELD
        self.reasons: dict[str, pd.Series] = {}
        self.repairs: Counter = Counter()
        self.derived: dict[str, pd.DataFrame] = {}

    def judged(self, f: FieldSpec, check: str, column: pd.Series, reasons: pd.Series | None = None) -> None:
        """The column rule ``<f>.<check>`` reads (most often a verdict) and, per failing row, why it fails."""
        rule_id = _rule_id(f, check)
        self.columns[rule_id] = column
        if reasons is not None:
            self.reasons[rule_id] = reasons

    def standard(self, f: FieldSpec, result: StandardResult, present: pd.Series) -> None:
        _count_repairs(self.repairs, f.name, result)
        ok, reasons = _verdict(result, present)
        self.judged(f, "standard", ok, reasons)

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
        self.fields[f.name] = {"value": value, "text": text}

    def _length(self, f: FieldSpec, value: pd.Series) -> pd.Series:
        """Free text and names are bounded (``max_length``, default ``DEFAULT_MAX_LENGTH``): a longer value fails
        the rule and is dropped from the standardised values (the delivery keeps it, in the raw landing and the
        quarantine), so it never reaches the base. Codes and identifiers are bounded by their own standards."""
        limit = _length_limit(f)
        if limit is None:
            return value
        length = value.str.len()
        too_long = (length > limit).fillna(False).astype(bool)
        ok = (~too_long).astype("boolean").where(value.notna(), pd.NA)
        self.judged(f, "length", ok, pd.Series("too_long", index=value.index, dtype="string").where(too_long))
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
            self.standard(f, result, present)
        elif f.standard is Standard.uscc:
            result = standards.validate_uscc(raw)
            self.standard(f, result, present)
        elif f.standard is Standard.party_id:
            result = self._party(f, raw, present)
        elif f.standard is Standard.division_code:
            result = standards.validate_division(raw, to_current=True)
            self.standard(f, result, present)
        elif f.standard is Standard.plate:
            types = self.raw[self.dataset.field("plate_type").source] if "plate_type" in self._names else None
            result = standards.validate_plate(raw, types)
            self.standard(f, result, present)
        elif f.standard is Standard.device_id:
            result = standards.validate_device_id(raw)
            self.standard(f, result, present)
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
        self.standard(f, merged, present & known_kind)
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
        self.judged(f, "format", fmt_ok, result.reason.where(pd.Series(wrong, index=raw.index)))
        if not f.future_allowed:
            not_future = pd.Series(~future, index=raw.index, dtype="boolean").where(present, pd.NA)
            self.judged(f, "not_future", not_future, result.reason.where(pd.Series(future, index=raw.index)))
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
        self.judged(f, "format", fmt_ok,
                    pd.Series(Reason.FORMAT.value, index=raw.index, dtype="string").where(present & ~ok))
        value = number.where(ok)
        if f.standard in (Standard.longitude, Standard.latitude):
            self.judged(f, "in_jilin", value)  # the declared rule holds Jilin's extent
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
        self.judged(f, "standard", ok, reasons)
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
        self.judged(f, "matches_id", ok,
                    pd.Series("disagrees_with_id", index=ok.index, dtype="string").where(~ok.fillna(True)))


def _check_frame(dataset: Dataset, rules: list[Rule], builder: _Builder, index: pd.Index) -> pd.DataFrame:
    """One column per declared rule, in rule order: the field's own value or text for the rules of
    :data:`READS_FIELD`, the column the evaluation computed for every other. The evaluation must have computed
    exactly those: else declaration and evaluation have drifted apart, and the checks the Dagster layer declared
    would not be the ones run."""
    declared = {r.id for r in rules if r.check not in READS_FIELD}
    if declared != builder.columns.keys():
        raise RuntimeError(f"{dataset.name}: the rules declared ({sorted(declared)}) are not the rules evaluated "
                           f"({sorted(builder.columns)})")
    return pd.DataFrame(
        {r.column: builder.fields[r.field][READS_FIELD[r.check]] if r.check in READS_FIELD else builder.columns[r.id]
         for r in rules},
        index=index,
    )


def check(dataset: Dataset, raw: pd.DataFrame, day: date) -> Checked:
    """Standardise one delivery (its parsed rows, source columns as text, any index) and build the check frame of
    the dataset's declared rules."""
    rules = declare(dataset)
    builder = _Builder(dataset, raw, day)
    for f in dataset.fields:
        builder.add(f)
    for f in dataset.fields:
        if f.matches_id_of:
            builder.consistency(f)
    values = pd.DataFrame(builder.values, index=raw.index)
    return Checked(values, _check_frame(dataset, rules, builder, raw.index), rules, builder.reasons, builder.repairs)


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
