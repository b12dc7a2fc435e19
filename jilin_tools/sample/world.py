"""The sample world: who exists, what they hold, and how it changes day by day.

The world is generated first, as registers of truthful records (canonical text in the sources' own column
names, plus internal columns starting with ``_``). :meth:`World.deliveries` then yields, day by day, the
truthful rows each department delivers that day: the initial state on the first day, new and changed records
(and unchanged re-deliveries) on later days, and the day's events. Problems are injected afterwards by the
generator; nothing here is corrupted except the deliberate cross-department disagreements listed in
``inconsistencies`` (name and birth-date disagreements, duplicate enrolments, unknown employers).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial

import numpy as np
import pandas as pd

from jilin_tools.sample import codes
from jilin_tools.sample.population import (
    births_for_ages,
    make_entities,
    make_persons,
)
from jilin_tools.sample.problems import fmt_amounts
from jilin_tools.sample.util import (
    add_years,
    concat_text,
    d64,
    date_text,
    pick,
    random_days,
    rng_for,
    time_text,
    times_on,
    yyyymmdd,
)

DATASETS = (
    "traffic_police.motor_vehicles",
    "traffic_police.driving_licences",
    "traffic_police.violations",
    "traffic_police.video_points",
    "transport.road_transport_permits",
    "transport.practitioner_qualifications",
    "municipal.construction_permits",
    "municipal.urban_cases",
    "social_security.employers",
    "social_security.insured_persons",
    "social_security.benefit_payments",
    "social_security.assistance_applications",
    "jishiban.verification_requests",
)

COLUMNS: dict[str, tuple[str, ...]] = {
    "traffic_police.motor_vehicles": ("号牌号码", "号牌种类", "车辆类型", "使用性质", "所有人证件类型", "所有人证件号码", "所有人名称",
                                      "初次登记日期", "行政区划", "机动车状态", "更新时间"),
    "traffic_police.driving_licences": ("sfzmhm", "xm", "xb", "csrq", "zjcx", "cclzrq", "yxqs", "yxqz", "zt", "ljjf",
                                        "djzsxzqh", "gxsj"),
    "traffic_police.violations": ("违法编号", "号牌号码", "号牌种类", "违法时间", "违法地点", "行政区划", "违法行为代码", "罚款金额",
                                  "违法记分", "当事人证件号码", "处理状态"),
    "traffic_police.video_points": ("DeviceID", "Name", "Longitude", "Latitude", "CivilCode", "Owner", "Status", "UpdateTime"),
    "transport.road_transport_permits": ("道路运输证号", "车辆号牌", "号牌种类", "业户名称", "业户证件号码", "经营范围", "核发日期",
                                         "有效期至", "证件状态", "更新时间"),
    "transport.practitioner_qualifications": ("certNo", "idNumber", "name", "qualificationType", "issueDate", "validTo",
                                              "status", "updatedAt"),
    "municipal.construction_permits": ("PermitNo", "ProjectName", "BuilderName", "BuilderUSCC", "ContractorName",
                                       "ContractorUSCC", "CivilCode", "Address", "AreaM2", "ContractPrice", "IssueDate",
                                       "Status", "UpdateTime"),
    "municipal.urban_cases": ("case_no", "category", "reported_at", "civil_code", "address", "longitude", "latitude",
                              "status", "closed_at", "party_uscc", "party_id_number"),
    "social_security.employers": ("AAB001", "AAB003", "AAB004", "AAB019", "AAB301", "AAE036"),
    "social_security.insured_persons": ("AAC001", "AAC002", "AAC003", "AAC004", "AAC006", "AAB001", "AAE140", "AAC008",
                                        "AAE180", "AAE030", "AAE036"),
    "social_security.benefit_payments": ("AAC002", "AAE140", "AAE002", "AAE019", "AAE036"),
    "social_security.assistance_applications": ("applicationId", "applicantIdNumber", "applicantName",
                                                "householdIdNumbers", "civilCode", "appliedAt", "updatedAt"),
    "jishiban.verification_requests": ("requestId", "certType", "certNo", "holderId", "holderName", "requestedAt"),
}
# The column holding each dataset's update time (None: the dataset has none).
UPDATE_COLUMN = {
    "traffic_police.motor_vehicles": "更新时间",
    "traffic_police.driving_licences": "gxsj",
    "traffic_police.video_points": "UpdateTime",
    "transport.road_transport_permits": "更新时间",
    "transport.practitioner_qualifications": "updatedAt",
    "municipal.construction_permits": "UpdateTime",
    "social_security.employers": "AAE036",
    "social_security.insured_persons": "AAE036",
    "social_security.benefit_payments": "AAE036",
    "social_security.assistance_applications": "updatedAt",
}
KEYS: dict[str, tuple[str, ...]] = {
    "traffic_police.motor_vehicles": ("号牌号码", "号牌种类"),
    "traffic_police.driving_licences": ("sfzmhm",),
    "traffic_police.violations": ("违法编号",),
    "traffic_police.video_points": ("DeviceID",),
    "transport.road_transport_permits": ("道路运输证号",),
    "transport.practitioner_qualifications": ("certNo",),
    "municipal.construction_permits": ("PermitNo",),
    "municipal.urban_cases": ("case_no",),
    "social_security.employers": ("AAB001",),
    "social_security.insured_persons": ("AAC002", "AAE140", "AAB001"),
    "social_security.benefit_payments": ("AAC002", "AAE140", "AAE002"),
    "social_security.assistance_applications": ("applicationId",),
    "jishiban.verification_requests": ("requestId",),
}

HOUSEHOLD_DESIGNS = (
    "eligible",
    "owns_private_vehicle",
    "operates_transport_business",
    "income_above_threshold",
    "pension_above_threshold",
    "identity_unverified",
    "owns_private_vehicle+income_above_threshold",
)
HOUSEHOLD_DESIGN_SHARE = (0.34, 0.12, 0.08, 0.14, 0.10, 0.14, 0.08)
# The shares below plan the world's size; what is delivered comes out somewhat larger (later processing of
# camera captures, case closures, re-deliveries, the households' own records): measured, corrected here.
CALIBRATION = 0.85
HISTORY_DAYS = 7  # event records are re-delivered from the last week's deliveries
ASSISTANCE_STANDARD = 800  # yuan per month (DESIGN.md default)
VERIFICATION_OUTCOMES = ("valid", "expired", "suspended", "revoked", "holder_mismatch", "not_found")
VERIFICATION_SHARE = (0.45, 0.12, 0.08, 0.10, 0.12, 0.13)
QUALIFIED_SHARE = {"qualified": 0.72, "none": 0.10, "wrong_type": 0.06, "expired": 0.06, "revoked": 0.06}


@dataclass(frozen=True)
class Plan:
    """How many records the world has and how many move each day, from ``scale`` rows per day — or, for a long
    history (``state_rows``), an initial state of about that many records and, each later day, new and changed
    register rows and event rows of about ``daily_share`` of it each."""

    scale: int
    days: int
    state_rows: int | None = None
    daily_share: float = 0.01

    @property
    def events(self) -> float:  # event rows per day
        if self.state_rows is not None:
            return self.daily_share * self.state_rows * CALIBRATION
        return 0.45 * self.scale * CALIBRATION

    @property
    def churn(self) -> float:  # new + changed rows of the registers per later day
        if self.days <= 1:
            return 0.0
        if self.state_rows is not None:
            return self.daily_share * self.state_rows * CALIBRATION
        return 0.25 * self.scale * CALIBRATION

    @property
    def state(self) -> float:  # rows of the initial state
        if self.state_rows is not None:
            return self.state_rows * CALIBRATION - self.events
        total = self.scale * self.days * CALIBRATION
        return max(total - self.events * self.days - self.churn * (self.days - 1), 0.25 * total)

    def n(self, share: float, of: str = "state", minimum: int = 1) -> int:
        return max(minimum, int(round(getattr(self, of) * share)))


def _appear(rng: np.random.Generator, initial: int, per_day: int, days: int) -> np.ndarray:
    """Appearance day of each record: ``initial`` on day 0, then ``per_day`` on each later day."""
    return np.concatenate([np.zeros(initial, dtype=np.int64), np.repeat(np.arange(1, days), per_day)]) if days > 1 \
        else np.zeros(initial, dtype=np.int64)


def _d(arr) -> np.ndarray:
    return np.asarray(arr, dtype="datetime64[D]")


class World:
    """The registers and their day-by-day evolution; see the module docstring."""

    def __init__(self, start: date, days: int, scale: int, seed: int, retired_share: float, redelivery_rate: float,
                 late: frozenset[tuple[str, int]] = frozenset(), *, state_rows: int | None = None,
                 daily_share: float = 0.01):
        """``late``: (dataset, day index) whose rows reach the platform only the next day (no usable file); an
        unchanged re-delivery is never drawn from them on that next day. ``state_rows``/``daily_share``: a long
        history (see :class:`Plan`)."""
        if days < 1:
            raise ValueError("days must be at least 1")
        if scale < 50:
            raise ValueError("scale must be at least 50 rows per day")
        self.start = start
        self.days = days
        self.seed = seed
        self.plan = Plan(scale, days, state_rows, daily_share)
        self.retired_share = retired_share
        self.redelivery_rate = redelivery_rate
        self.late = late
        self.day0 = d64(start)
        self._build()

    def rng(self, *names: object) -> np.random.Generator:
        return rng_for(self.seed, *names)

    def day(self, d: int) -> date:
        return self.start + timedelta(days=d)

    # ------------------------------------------------------------------------------------------ build

    def _build(self) -> None:
        self._build_persons()
        self._build_entities()
        self._build_vehicles()
        self._build_licences()
        self._build_permits_and_qualifications()
        self._build_insured()
        self._build_video_points()
        self._build_construction_permits()
        self._build_households()
        self.pending_violations = pd.DataFrame()
        self.open_cases = pd.DataFrame()
        self.requests_world: list[pd.DataFrame] = []
        self._serial = {"violation": 0, "case": 0, "request": 0}

    def _build_persons(self) -> None:
        p = self.plan
        rng = self.rng("persons")
        n = p.n(0.34, minimum=200)
        ages_lo = np.array([0, 18, 60])
        ages_hi = np.array([18, 60, 90])
        band = rng.choice(3, n, p=[0.13, 0.67, 0.20])
        births = births_for_ages(rng, self.start, ages_lo[band], ages_hi[band], n)
        self.persons = make_persons(rng, births, "general", self.retired_share)
        self.persons["age"] = ((self.day0 - _d(self.persons["birth"])).astype(np.int64) / 365.25).astype(float)

    def _build_entities(self) -> None:
        p = self.plan
        rng = self.rng("entities")
        n0 = p.n(0.03, minimum=16)
        per_day = p.n(0.03 * 0.5, "churn", minimum=1) if self.days > 1 else 0
        ent = make_entities(rng, n0 + per_day * (self.days - 1))
        ent["_appear"] = _appear(rng, n0, per_day, self.days)
        ent["_t"] = self._past_times(rng, len(ent), years=8)
        self.entities = ent

    def _past_times(self, rng: np.random.Generator, n: int, years: float = 3.0, not_before=None) -> np.ndarray:
        """Last-update times of initial-state records: before the first day."""
        lo = self.day0 - np.timedelta64(int(years * 365), "D")
        if not_before is not None:
            lo = np.maximum(_d(not_before), lo)
        days = random_days(lo, self.day0 - np.timedelta64(1, "D"), rng, n)
        return days.astype("datetime64[s]") + rng.integers(7 * 3600, 21 * 3600, n).astype("timedelta64[s]")

    # vehicles -------------------------------------------------------------------------------------

    def _plates(self, rng: np.random.Generator, division: np.ndarray, plate_type: np.ndarray) -> np.ndarray:
        n = len(division)
        letters = codes.plate_letters()
        digits = np.array(list("0123456789"))
        prefix = concat_text("吉", np.array([codes.PREFECTURES[x[:4]][0] for x in division], dtype=object))
        five = digits[rng.integers(0, 10, (n, 5))].astype(object)
        # ordinary plates carry up to two letters among their five characters
        for k in range(2):
            pos = rng.integers(0, 5, n)
            use = rng.random(n) < (0.5 if k == 0 else 0.2)
            five[np.flatnonzero(use), pos[use]] = letters[rng.integers(0, len(letters), int(use.sum()))]
        serial = five[:, 0]
        for k in range(1, 5):
            serial = serial + five[:, k]
        nev_letter = np.where(rng.random(n) < 0.8, "D", "F").astype(object)
        digits5 = np.char.zfill(rng.integers(0, 100000, n).astype("U5"), 5).astype(object)
        serial = np.where(plate_type == "52", nev_letter + digits5, serial)
        serial = np.where(plate_type == "51", digits5 + nev_letter, serial)
        return (prefix + serial).astype(object)

    def _unique_plates(self, rng, division, plate_type, taken: pd.Series | None = None) -> np.ndarray:
        """Plates unique per plate type, also against ``taken`` ("plate|type" keys)."""
        plates = self._plates(rng, division, plate_type)
        taken = pd.Series([], dtype=object) if taken is None else taken
        for _ in range(100):
            key = pd.Series(plates + "|" + plate_type)
            dup = key.duplicated().to_numpy() | key.isin(taken).to_numpy()
            if not dup.any():
                return plates
            k = np.flatnonzero(dup)
            plates[k] = self._plates(rng, division[k], plate_type[k])
        raise RuntimeError("could not draw unique plates")  # pragma: no cover

    def _build_vehicles(self) -> None:
        p = self.plan
        rng = self.rng("vehicles")
        per = self.persons
        adults = np.flatnonzero((per["age"] >= 18) & (per["age"] < 80))
        n0 = p.n(0.19, minimum=40)
        per_day = p.n(0.28 * 0.4, "churn") if self.days > 1 else 0
        n = n0 + per_day * (self.days - 1)
        appear = _appear(rng, n0, per_day, self.days)
        commercial = rng.random(n) < 0.25
        commercial[:7] = True  # every use code occurs
        use = np.full(n, "A", dtype=object)
        use[commercial] = pick(rng, ("B", "C", "D", "E", "F", "H"), int(commercial.sum()), p=[0.12, 0.10, 0.25, 0.05, 0.38, 0.10])
        use[:6] = np.array(["B", "C", "D", "E", "F", "H"], dtype=object)
        plate_type = np.empty(n, dtype=object)
        vtype = np.empty(n, dtype=object)
        r = rng.random(n)
        private = use == "A"
        plate_type[private] = np.select([r[private] < 0.66, r[private] < 0.82, r[private] < 0.94], ["02", "52", "07"], "01")
        big = np.isin(use, ["B", "C", "E", "F", "H"])
        plate_type[big] = np.where(r[big] < 0.9, "01", "51")
        plate_type[use == "D"] = np.where(r[use == "D"] < 0.6, "02", "52")
        vtype[:] = "K33"
        vtype[plate_type == "07"] = np.where(r[plate_type == "07"] < 0.5, "M21", "M22")
        vtype[(use == "A") & (plate_type == "01")] = "H31"
        vtype[np.isin(use, ["B", "E"])] = "K11"
        vtype[use == "C"] = "K12"
        vtype[use == "F"] = np.where(r[use == "F"] < 0.6, "H11", "H21")
        vtype[use == "H"] = "G11"
        vtype[private & (plate_type == "02")] = np.where(r[private & (plate_type == "02")] < 0.8, "K33", "K31")
        # owners: private vehicles mostly persons, commercial ones mostly transport companies
        owner_type = np.where(private, np.where(rng.random(n) < 0.92, "A", "B"), np.where(rng.random(n) < 0.22, "A", "B"))
        owner_type[use == "C"] = "B"
        owner_pid = np.full(n, -1, dtype=np.int64)
        owner_eid = np.full(n, -1, dtype=np.int64)
        is_person = owner_type == "A"
        owner_pid[is_person] = adults[rng.integers(0, len(adults), int(is_person.sum()))]
        operators = np.flatnonzero((per["age"] >= 25) & (per["age"] < 60))
        person_commercial = is_person & ~private
        owner_pid[person_commercial] = operators[rng.integers(0, len(operators), int(person_commercial.sum()))]
        ent = self.entities
        initial_ent = ent["_appear"].to_numpy() == 0
        transport = np.flatnonzero((ent["kind"] == "transport").to_numpy() & initial_ent)
        fleets = np.flatnonzero(ent["kind"].isin(["enterprise", "construction", "developer", "organ", "institution"]).to_numpy()
                                & initial_ent)
        ent_owned = ~is_person
        owner_eid[ent_owned & ~private] = transport[rng.integers(0, len(transport), int((ent_owned & ~private).sum()))]
        owner_eid[ent_owned & private] = fleets[rng.integers(0, len(fleets), int((ent_owned & private).sum()))]
        division = np.where(is_person, per["home_div"].to_numpy()[np.maximum(owner_pid, 0)],
                            ent["division"].to_numpy()[np.maximum(owner_eid, 0)]).astype(object)
        plates = self._unique_plates(rng, division, plate_type)
        first_reg = random_days(self.day0 - np.timedelta64(18 * 365, "D"), self.day0 - np.timedelta64(1, "D"), rng, n)
        later = appear > 0
        first_reg[later] = (self.day0 + appear[later].astype("timedelta64[D]"))
        status = pick(rng, codes.VEHICLE_STATUSES, n, p=[0.88, 0.03, 0.03, 0.06])
        status[later] = "A"
        owner_id = np.where(is_person, per["id"].to_numpy()[np.maximum(owner_pid, 0)], ent["uscc"].to_numpy()[np.maximum(owner_eid, 0)])
        owner_name = np.where(is_person, per["name"].to_numpy()[np.maximum(owner_pid, 0)], ent["name"].to_numpy()[np.maximum(owner_eid, 0)])
        veh = pd.DataFrame(
            {
                "号牌号码": plates,
                "号牌种类": plate_type,
                "车辆类型": vtype,
                "使用性质": use,
                "所有人证件类型": owner_type.astype(object),
                "所有人证件号码": owner_id.astype(object),
                "所有人名称": owner_name.astype(object),
                "初次登记日期": date_text(first_reg),
                "行政区划": division,
                "机动车状态": status,
                "_appear": appear,
                "_t": self._past_times(rng, n, not_before=first_reg),
                "_pid": owner_pid,
                "_eid": owner_eid,
                "_commercial": ~private,
                "_risky": ~private & (rng.random(n) < 0.15),
                "_anchor": np.zeros(n, dtype=bool),
            }
        )
        veh.loc[later, "_t"] = np.datetime64("NaT")
        self.vehicles = veh
        # drivers of commercial vehicles: the individual operator first, then 0-2 employed drivers
        comm = np.flatnonzero(~private)
        n_drivers = np.where(np.isin(use[comm], ["D", "B", "C"]), 2, 1) + (rng.random(len(comm)) < 0.3)
        veh_of = np.repeat(comm, n_drivers)
        working = np.flatnonzero((per["age"] >= 21) & (per["age"] < 58))
        driver = working[rng.integers(0, len(working), len(veh_of))]
        first_slot = np.r_[True, veh_of[1:] != veh_of[:-1]]
        op = first_slot & (owner_type[veh_of] == "A")
        driver[op] = owner_pid[veh_of[op]]
        self.drivers = pd.DataFrame({"_vid": veh_of, "_pid": driver})

    # licences -------------------------------------------------------------------------------------

    def _licence_rows(self, rng, pids: np.ndarray, classes: np.ndarray, appear: np.ndarray, status: np.ndarray,
                      anchor: bool) -> pd.DataFrame:
        per = self.persons
        n = len(pids)
        birth = _d(per["birth"].to_numpy()[pids])
        eighteen = add_years(birth, 18)
        lo = np.maximum(eighteen, np.datetime64("1985-01-01"))
        first = random_days(lo, self.day0 - np.timedelta64(30, "D"), rng, n)
        later = appear > 0
        first[later] = self.day0 + appear[later].astype("timedelta64[D]")
        held = ((self.day0 - first).astype(np.int64) / 365.25)
        # validity cycles: 6 years, then 10, then 20 (counted from the first issue)
        cycle_start_years = np.where(held >= 16, 16, np.where(held >= 6, 6, 0))
        cycle_len = np.where(cycle_start_years == 16, 20, np.where(cycle_start_years == 6, 10, 6))
        yxqs = add_years(first, cycle_start_years)
        yxqz = add_years(yxqs, cycle_len)
        overdue = status == "B"
        if overdue.any():  # not renewed: the validity ended some time before the first day
            yxqz[overdue] = random_days(self.day0 - np.timedelta64(700, "D"), self.day0 - np.timedelta64(2, "D"), rng, int(overdue.sum()))
            yxqs[overdue] = add_years(yxqz[overdue], -6)
        points = np.where(rng.random(n) < 0.6, 0, rng.choice([1, 2, 3, 4, 6, 7, 9], n))
        return pd.DataFrame(
            {
                "sfzmhm": per["id"].to_numpy()[pids],
                "xm": per["name"].to_numpy()[pids],
                "xb": per["sex"].to_numpy()[pids],
                "csrq": date_text(birth),
                "zjcx": classes,
                "cclzrq": date_text(first),
                "yxqs": date_text(yxqs),
                "yxqz": date_text(yxqz),
                "zt": status,
                "ljjf": points.astype(str).astype(object),
                "djzsxzqh": per["home_div"].to_numpy()[pids],
                "_appear": appear,
                "_t": np.where(later, np.datetime64("NaT"), self._past_times(rng, n, not_before=first)),
                "_pid": pids,
                "_anchor": np.full(n, anchor),
                "_yxqz": yxqz,
            }
        )

    def _build_licences(self) -> None:
        """Licences of the commercial vehicles' drivers (classes by vehicle use), of most person owners and of
        other adults up to the planned number; on later days young adults get new ones."""
        p = self.plan
        rng = self.rng("licences")
        per = self.persons
        veh = self.vehicles
        drv = self.drivers
        use = veh["使用性质"].to_numpy()[drv["_vid"].to_numpy()]
        driver_class = np.select([np.isin(use, ["B", "E"]), use == "C", use == "D", np.isin(use, ["F", "H"])],
                                 ["A1", "A3", "C1", "A2"], "B2").astype(object)
        classes = pd.Series(driver_class, index=drv["_pid"].to_numpy())
        classes = classes[~classes.index.duplicated(keep="last")]
        owner = veh["_pid"].to_numpy()
        owners = pd.Series(np.where(veh["号牌种类"].to_numpy() == "07", "D", "C1"), index=owner, dtype=object)
        owners = owners[(owners.index >= 0) & (rng.random(len(owners)) < 0.9)]
        owners = owners[~owners.index.duplicated(keep="first") & ~owners.index.isin(classes.index)]
        classes = pd.concat([classes, owners])
        adults = np.flatnonzero((per["age"] >= 18.5) & (per["age"] < 78))
        rng.shuffle(adults)
        extra = adults[~np.isin(adults, classes.index)][: max(0, p.n(0.17, minimum=60) - len(classes))]
        classes = pd.concat([classes, pd.Series(pick(rng, ("C1", "C2", "C1E", "B1", "C1D"), len(extra), p=[0.7, 0.15, 0.06, 0.04, 0.05]),
                                                index=extra, dtype=object)]).sort_index()
        # new licences on later days: young adults passing their test
        per_day = p.n(0.18 * 0.3, "churn") if self.days > 1 else 0
        young = np.flatnonzero((per["age"] >= 18.2) & (per["age"] < 30))
        young = young[~np.isin(young, classes.index)]
        rng.shuffle(young)
        new = young[: per_day * (self.days - 1)]
        appear = np.concatenate([np.zeros(len(classes), dtype=np.int64), np.repeat(np.arange(1, self.days), per_day)[: len(new)]])
        pids = np.concatenate([classes.index.to_numpy(dtype=np.int64), new])
        cls = np.concatenate([classes.to_numpy(dtype=object), np.full(len(new), "C1", dtype=object)])
        status = pick(rng, codes.LICENCE_STATUSES, len(pids), p=[0.91, 0.04, 0.02, 0.03])
        status[appear > 0] = "A"
        is_driver = np.isin(pids, drv["_pid"].to_numpy())
        status[is_driver] = np.where(rng.random(int(is_driver.sum())) < 0.95, "A", "G")
        self.licences = self._licence_rows(rng, pids, cls, appear, status, anchor=False)

    # permits and qualifications ----------------------------------------------------------------

    def _build_permits_and_qualifications(self) -> None:
        rng = self.rng("permits")
        veh = self.vehicles
        per = self.persons
        comm = np.flatnonzero(veh["_commercial"].to_numpy())
        n = len(comm)
        use = veh["使用性质"].to_numpy()[comm]
        scope = np.select([np.isin(use, ["B", "C", "E"]), use == "D", use == "F"], ["道路旅客运输", "出租客运", "道路普通货物运输"],
                          "危险货物运输").astype(object)
        division = veh["行政区划"].to_numpy()[comm]
        serial = rng.permutation(800000)[:n] + 100000  # 100000-899999; households' 900000-999999; never 0xxxxx
        permit_no = concat_text(division, serial.astype("U6").astype(object))
        first_reg = _d(pd.to_datetime(veh["初次登记日期"].to_numpy()[comm]))
        appear = veh["_appear"].to_numpy()[comm]
        issue = random_days(first_reg, np.maximum(first_reg, self.day0 - np.timedelta64(1, "D")), rng, n)
        issue[appear > 0] = first_reg[appear > 0]
        valid_to = add_years(issue, rng.integers(4, 9, n))
        status = pick(rng, codes.PERMIT_STATUSES, n, p=[0.9, 0.05, 0.05])
        status[appear > 0] = "营运"
        expired = (status == "营运") & (rng.random(n) < 0.05)
        valid_to[expired] = random_days(self.day0 - np.timedelta64(400, "D"), self.day0 - np.timedelta64(1, "D"), rng, int(expired.sum()))
        issue[expired] = np.minimum(issue[expired], add_years(valid_to[expired], -4))
        self.permits = pd.DataFrame(
            {
                "道路运输证号": permit_no,
                "车辆号牌": veh["号牌号码"].to_numpy()[comm],
                "号牌种类": veh["号牌种类"].to_numpy()[comm],
                "业户名称": veh["所有人名称"].to_numpy()[comm],
                "业户证件号码": veh["所有人证件号码"].to_numpy()[comm],
                "经营范围": scope,
                "核发日期": date_text(issue),
                "有效期至": date_text(valid_to),
                "证件状态": status,
                "_appear": appear,
                "_t": np.where(appear > 0, np.datetime64("NaT"), self._past_times(rng, n, not_before=issue)),
                "_vid": comm,
                "_anchor": np.zeros(n, dtype=bool),
                "_valid_to": valid_to,
            }
        )
        # qualifications of the drivers: most hold the right one; some none, the wrong type, expired, revoked
        drv = self.drivers
        scope_of = pd.Series(scope, index=comm)
        need = scope_of.reindex(drv["_vid"].to_numpy()).map(codes.SCOPE_QUALIFICATION).to_numpy(dtype=object)
        outcome = pick(rng, tuple(QUALIFIED_SHARE), len(drv), p=list(QUALIFIED_SHARE.values()))
        outcome[: min(len(outcome), 5)] = np.array(list(QUALIFIED_SHARE), dtype=object)[: min(len(outcome), 5)]
        self.drivers["_qualification"] = outcome
        has = outcome != "none"
        qtype = need.copy()
        wrong = outcome == "wrong_type"
        other_type = {x: next(t for t in codes.QUALIFICATION_TYPES if t != x) for x in codes.QUALIFICATION_TYPES}
        qtype[wrong] = pd.Series(need[wrong], dtype=object).map(other_type).to_numpy(dtype=object)
        pids = drv["_pid"].to_numpy()[has]
        vids = drv["_vid"].to_numpy()[has]
        m = len(pids)
        veh_appear = veh["_appear"].to_numpy()[vids]
        birth = _d(per["birth"].to_numpy()[pids])
        q_issue = random_days(np.maximum(add_years(birth, 21), np.datetime64("2008-01-01")), self.day0 - np.timedelta64(10, "D"), rng, m)
        q_issue[veh_appear > 0] = self.day0 + veh_appear[veh_appear > 0].astype("timedelta64[D]")
        q_valid_to = add_years(q_issue, 6)
        # renewed ones: validity moved on by six years where it would have ended already
        ended = (q_valid_to < self.day0) & (outcome[has] != "expired")
        q_valid_to[ended] = add_years(q_valid_to[ended], 6 * (1 + ((self.day0 - q_valid_to[ended]).astype(np.int64) // (6 * 365))))
        exp = outcome[has] == "expired"
        q_valid_to[exp] = random_days(self.day0 - np.timedelta64(600, "D"), self.day0 - np.timedelta64(1, "D"), rng, int(exp.sum()))
        q_issue[exp] = add_years(q_valid_to[exp], -6)
        q_status = np.where(outcome[has] == "revoked", "revoked", "valid").astype(object)
        cert_no = concat_text(per["home_div"].to_numpy()[pids], np.char.zfill((rng.permutation(10**7)[:m] + 1).astype("U10"), 10).astype(object))
        self.quals = pd.DataFrame(
            {
                "certNo": cert_no,
                "idNumber": per["id"].to_numpy()[pids],
                "name": per["name"].to_numpy()[pids],
                "qualificationType": qtype[has],
                "issueDate": date_text(q_issue),
                "validTo": date_text(q_valid_to),
                "status": q_status,
                "_appear": veh_appear,
                "_t": np.where(veh_appear > 0, np.datetime64("NaT"), self._past_times(rng, m, not_before=q_issue)),
                "_pid": pids,
                "_anchor": np.zeros(m, dtype=bool),
                "_valid_to": q_valid_to,
            }
        )

    # social security ----------------------------------------------------------------------------

    def _insured_rows(self, rng, pids: np.ndarray, eids: np.ndarray, types: np.ndarray, status: np.ndarray, base: np.ndarray,
                      appear: np.ndarray, anchor: bool) -> pd.DataFrame:
        per = self.persons
        ent = self.entities
        n = len(pids)
        birth = _d(per["birth"].to_numpy()[pids])
        start = random_days(np.maximum(add_years(birth, 18), np.datetime64("1995-01-01")), self.day0 - np.timedelta64(20, "D"), rng, n)
        start[appear > 0] = self.day0 + appear[appear > 0].astype("timedelta64[D]")
        return pd.DataFrame(
            {
                "AAC001": concat_text("22", np.char.zfill((pids + 1).astype("U8"), 8).astype(object)),
                "AAC002": per["id"].to_numpy()[pids],
                "AAC003": per["name"].to_numpy()[pids],
                "AAC004": per["sex"].to_numpy()[pids],
                "AAC006": yyyymmdd(birth).astype(str).astype(object),
                "AAB001": ent["aab001"].to_numpy()[eids],
                "AAE140": types,
                "AAC008": status,
                "AAE180": fmt_amounts(base),
                "AAE030": date_text(start),
                "_appear": appear,
                "_t": np.full(n, np.datetime64("NaT"), dtype="datetime64[s]"),
                "_pid": pids,
                "_eid": eids,
                "_anchor": np.full(n, anchor),
                "_incons": np.full(n, None, dtype=object),
            }
        )

    def _build_insured(self) -> None:
        p = self.plan
        rng = self.rng("insured")
        per = self.persons
        ent = self.entities
        initial_ent = np.flatnonzero(ent["_appear"].to_numpy() == 0)
        kind = ent["kind"].to_numpy()
        weight = pd.Series(kind[initial_ent]).map({"organ": 2, "institution": 3, "enterprise": 3, "transport": 2, "construction": 2,
                                                   "developer": 1, "individual_business": 0.4, "other": 0.5}).to_numpy(dtype=float)
        weight /= weight.sum()
        n_retirees = p.n(0.03, minimum=20)
        rows_target = p.n(0.20, minimum=60)
        n_workers = max(10, int((rows_target - n_retirees) / 3.0))
        working = np.flatnonzero((per["age"] >= 18) & (per["age"] < 60))
        workers = rng.choice(working, min(n_workers, len(working)), replace=False)
        per_day = p.n(0.2 * 0.4 / 3.0, "churn") if self.days > 1 else 0
        w_appear = np.zeros(len(workers), dtype=np.int64)
        if self.days > 1 and per_day:
            k = min(len(workers) // 4, per_day * (self.days - 1))
            w_appear[len(workers) - k :] = np.repeat(np.arange(1, self.days), per_day)[:k]
        emp = initial_ent[rng.choice(len(initial_ent), len(workers), p=weight)]
        organ = np.isin(ent["aab019"].to_numpy()[emp], ["10", "30"])
        pension_type = np.where(organ, "120", "110")
        parts = []
        for t, share in (("pension", 1.0), ("310", 0.97), ("210", 0.6), ("410", 0.6)):
            take = rng.random(len(workers)) < share
            types = pension_type[take] if t == "pension" else np.full(int(take.sum()), t, dtype=object)
            parts.append((workers[take], emp[take], types.astype(object), w_appear[take]))
        pids = np.concatenate([x[0] for x in parts])
        eids = np.concatenate([x[1] for x in parts])
        types = np.concatenate([x[2] for x in parts])
        appear = np.concatenate([x[3] for x in parts])
        base_of = dict(zip(workers, np.round(np.clip(rng.lognormal(np.log(4800), 0.45, len(workers)), 2600, 38000), -1),
                           strict=True))
        base = np.array([base_of[x] for x in pids])
        status = pick(rng, ("1", "2", "4"), len(pids), p=[0.92, 0.05, 0.03])
        status[appear > 0] = "1"
        rows = self._insured_rows(rng, pids, eids, types, status, base, appear, anchor=False)
        # retirees: a terminated pension row (they are known) and monthly pension payments
        old = np.flatnonzero(per["age"] >= 60)
        retirees = rng.choice(old, min(n_retirees, len(old)), replace=False)
        r_emp = initial_ent[rng.choice(len(initial_ent), len(retirees), p=weight)]
        r_type = np.where(np.isin(ent["aab019"].to_numpy()[r_emp], ["10", "30"]), "120", "110").astype(object)
        r_rows = self._insured_rows(rng, retirees, r_emp, r_type, np.full(len(retirees), "4", dtype=object),
                                    np.round(rng.uniform(2500, 7000, len(retirees)), -1), np.zeros(len(retirees), dtype=np.int64),
                                    anchor=False)
        insured = pd.concat([rows, r_rows], ignore_index=True)
        self.pensions = pd.DataFrame(
            {"_pid": retirees, "AAE140": r_type, "amount": np.round(rng.uniform(1500, 5200, len(retirees)), 2),
             "handle_day": rng.integers(1, 11, len(retirees)), "_anchor": False}
        )
        # deliberate disagreements with other departments and within the social-security data
        insured = self._deliberate(rng, insured, weight, initial_ent)
        self.insured = insured

    def _deliberate(self, rng, insured: pd.DataFrame, weight: np.ndarray, initial_ent: np.ndarray) -> pd.DataFrame:
        ent = self.entities
        n = len(insured)
        paying_pension = np.flatnonzero(((insured["AAC008"] == "1") & insured["AAE140"].isin(["110", "120", "310"])
                                         & (insured["_appear"] == 0)).to_numpy())
        k = max(2, int(0.015 * len(paying_pension)))
        dup_src = rng.choice(paying_pension, min(k, len(paying_pension)), replace=False)
        dup = insured.iloc[dup_src].copy()
        other = initial_ent[rng.choice(len(initial_ent), len(dup), p=weight)]
        clash = other == dup["_eid"].to_numpy()
        other[clash] = initial_ent[(np.searchsorted(initial_ent, other[clash]) + 1) % len(initial_ent)]
        dup["_eid"] = other
        dup["AAB001"] = ent["aab001"].to_numpy()[other]
        dup["_incons"] = "duplicate_enrollment"
        insured.loc[dup_src, "_incons"] = "duplicate_enrollment"
        insured = pd.concat([insured, dup], ignore_index=True)
        n = len(insured)
        free = np.flatnonzero(insured["_incons"].isna().to_numpy() & (insured["_appear"] == 0).to_numpy())
        rng.shuffle(free)
        m = max(2, int(0.005 * n))
        name_rows, birth_rows, emp_rows = free[:m], free[m : 2 * m], free[2 * m : 2 * m + max(1, m // 2)]
        # another department's spelling of the name: one character replaced
        given = np.array(list(codes.GIVEN_CHARS), dtype=object)
        names = insured["AAC003"].to_numpy(dtype=object).copy()
        for i, g in zip(name_rows, given[rng.integers(0, len(given), len(name_rows))], strict=True):
            old = names[i]
            new = old[:-1] + (g if g != old[-1] else "一")
            names[i] = new
        insured["AAC003"] = names
        insured.loc[name_rows, "_incons"] = "name_mismatch"
        births = pd.to_datetime(insured.loc[birth_rows, "AAC006"], format="%Y%m%d").to_numpy().astype("datetime64[D]")
        shifted = births + rng.choice([-400, -31, -1, 1, 10, 365], len(birth_rows)).astype("timedelta64[D]")
        insured.loc[birth_rows, "AAC006"] = yyyymmdd(shifted).astype(str).astype(object)
        insured.loc[birth_rows, "_incons"] = "birth_date_mismatch"
        insured.loc[emp_rows, "AAB001"] = concat_text("2299", np.char.zfill(rng.integers(0, 10**6, len(emp_rows)).astype("U6"), 6).astype(object))
        insured.loc[emp_rows, "_incons"] = "unknown_employer"
        return insured

    # video points and construction permits -----------------------------------------------------

    def _coords(self, rng, division: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = len(division)
        centre = np.array([codes.PREFECTURES[d[:4]][2:] for d in division], dtype=float).reshape(n, 2)
        jitter = (rng.random((n, 2)) * 2 - 1) * codes.COORD_JITTER
        lon = np.round(centre[:, 0] + jitter[:, 0], 6)
        lat = np.round(centre[:, 1] + jitter[:, 1], 6)
        return (np.array([f"{x:.6f}" for x in lon], dtype=object), np.array([f"{y:.6f}" for y in lat], dtype=object))

    def _streets(self, rng, division: np.ndarray, crossing: bool) -> np.ndarray:
        n = len(division)
        county = np.array([codes.county_name(d) for d in division], dtype=object)
        a = pick(rng, codes.STREETS, n)
        if crossing:
            b = pick(rng, codes.STREETS, n)
            return concat_text(county, a, "与", b, "交汇处")
        return concat_text(county, a, rng.integers(1, 2000, n).astype(str).astype(object), "号")

    def _build_video_points(self) -> None:
        p = self.plan
        rng = self.rng("video")
        n0 = p.n(0.05, minimum=20)
        per_day = p.n(0.09 * 0.2, "churn") if self.days > 1 else 0
        n = n0 + per_day * (self.days - 1)
        counties = np.array(codes.current_counties(), dtype=object)
        division = counties[rng.integers(0, len(counties), n)]
        owner_kind = rng.integers(0, 3, n)
        industry = np.array(["02", "03", "04"], dtype=object)[owner_kind]
        dtype_ = np.where(rng.random(n) < 0.7, "132", "131").astype(object)
        serial = np.char.zfill((rng.permutation(10**6)[:n]).astype("U6"), 6).astype(object)
        device = concat_text(division, "00", industry, dtype_, "1", serial)
        seat = np.array([codes.PREFECTURES[d[:4]][1] for d in division], dtype=object)
        owner = seat + np.array(["公安局交通警察支队", "交通运输局", "城市管理行政执法局"], dtype=object)[owner_kind]
        lon, lat = self._coords(rng, division)
        appear = _appear(rng, n0, per_day, self.days)
        self.video = pd.DataFrame(
            {
                "DeviceID": device,
                "Name": self._streets(rng, division, crossing=True),
                "Longitude": lon,
                "Latitude": lat,
                "CivilCode": division,
                "Owner": owner,
                "Status": np.where(rng.random(n) < 0.9, "ON", "OFF").astype(object),
                "_appear": appear,
                "_t": np.where(appear > 0, np.datetime64("NaT"), self._past_times(rng, n)),
                "_anchor": np.zeros(n, dtype=bool),
            }
        )

    def _build_construction_permits(self) -> None:
        p = self.plan
        rng = self.rng("construction")
        ent = self.entities
        n0 = p.n(0.045, minimum=20)
        per_day = p.n(0.08 * 0.4, "churn") if self.days > 1 else 0
        n = n0 + per_day * (self.days - 1)
        appear = _appear(rng, n0, per_day, self.days)
        live = ent["_appear"].to_numpy() == 0
        builders = np.flatnonzero(ent["kind"].isin(["developer", "organ", "institution", "enterprise"]).to_numpy() & live)
        contractors = np.flatnonzero((ent["kind"] == "construction").to_numpy() & live)
        b = builders[rng.integers(0, len(builders), n)]
        c = contractors[rng.integers(0, len(contractors), n)]
        division = ent["division"].to_numpy()[b]
        issue = random_days(np.datetime64("2018-01-01"), self.day0 - np.timedelta64(1, "D"), rng, n)
        issue[appear > 0] = self.day0 + appear[appear > 0].astype("timedelta64[D]")
        serial = np.char.zfill((rng.integers(1, 10000, n)).astype("U4"), 4).astype(object)  # never 0000
        permit_no = concat_text(division, yyyymmdd(issue).astype(str).astype(object), serial)
        # unique numbers: redraw the serial of clashes
        for _ in range(50):
            dup = pd.Series(permit_no).duplicated().to_numpy()
            if not dup.any():
                break
            k = np.flatnonzero(dup)
            permit_no[k] = concat_text(division[k], yyyymmdd(issue[k]).astype(str).astype(object),
                                       np.char.zfill(rng.integers(1, 10000, len(k)).astype("U4"), 4).astype(object))
        area = np.round(rng.lognormal(np.log(12000), 1.0, n).clip(200, 600000), 2)
        price = np.round(area * rng.uniform(0.15, 0.45, n), 2).clip(10, None)
        age_days = (self.day0 - issue).astype(np.int64)
        status = np.where(age_days > 900, pick(rng, ("completed", "valid", "revoked"), n, p=[0.8, 0.15, 0.05]),
                          pick(rng, ("valid", "suspended", "revoked", "completed"), n, p=[0.8, 0.1, 0.04, 0.06])).astype(object)
        status[appear > 0] = "valid"
        kinds = pick(rng, codes.PROJECT_KINDS, n)
        brand = pick(rng, codes.ENTITY_BRANDS, n)
        county = np.array([codes.county_name(d) for d in division], dtype=object)
        self.cpermits = pd.DataFrame(
            {
                "PermitNo": permit_no,
                "ProjectName": concat_text(county, brand, kinds, "项目"),
                "BuilderName": ent["name"].to_numpy()[b],
                "BuilderUSCC": ent["uscc"].to_numpy()[b],
                "ContractorName": ent["name"].to_numpy()[c],
                "ContractorUSCC": ent["uscc"].to_numpy()[c],
                "CivilCode": division,
                "Address": self._streets(rng, division, crossing=False),
                "AreaM2": fmt_amounts(area),
                "ContractPrice": fmt_amounts(price),
                "IssueDate": date_text(issue),
                "Status": status,
                "_appear": appear,
                "_t": np.where(appear > 0, np.datetime64("NaT"), self._past_times(rng, n, not_before=issue)),
                "_anchor": np.zeros(n, dtype=bool),
            }
        )

    # households -------------------------------------------------------------------------------

    def _build_households(self) -> None:
        """Applicants' households, built by design so that every scenario flag occurs: their members are
        persons of their own (in no other household, never changed by the daily churn) whose records are
        in the initial state."""
        p = self.plan
        rng = self.rng("households")
        per_day = p.n(0.08, "events")
        n = per_day * self.days
        design = pick(rng, HOUSEHOLD_DESIGNS, n, p=HOUSEHOLD_DESIGN_SHARE)
        design[: min(n, len(HOUSEHOLD_DESIGNS))] = np.array(HOUSEHOLD_DESIGNS, dtype=object)[: min(n, len(HOUSEHOLD_DESIGNS))]
        size = rng.choice([1, 2, 3, 4, 5], n, p=[0.25, 0.3, 0.25, 0.12, 0.08])
        # members, household by household: applicant, spouse, adult children; by design an elder or a child last
        hh = np.repeat(np.arange(n), size)
        start_of = np.cumsum(size) - size
        slot = np.arange(len(hh)) - start_of[hh]
        last = slot == size[hh] - 1
        des = design[hh]
        role = np.where(slot == 0, "applicant", np.where(slot == 1, "spouse", "adult_child")).astype(object)
        role[last & (des == "pension_above_threshold")] = "elder"
        role[last & (des == "identity_unverified") & (size[hh] >= 3)] = "child"
        # an elderly parent in some other households: a small pension (at most the standard), or none
        elder_too = last & (size[hh] >= 3) & ~np.isin(des, ["pension_above_threshold", "identity_unverified"])
        role[elder_too & (rng.random(len(hh)) < 0.4)] = "elder"
        elder_profile = pick(rng, ("low_pension", "unemployed", "licence"), len(hh), p=[0.5, 0.35, 0.15])
        adult_profile = pick(rng, ("licence", "unemployed", "low_income"), len(hh), p=[0.4, 0.4, 0.2])
        profile = np.where(role == "elder", elder_profile, np.where(role == "child", "unknown", adult_profile)).astype(object)
        profile[last & (des == "identity_unverified")] = "unknown"
        profile[last & (des == "pension_above_threshold")] = "high_pension"
        # one carrier of the household's flag: an adult of working age (the elder, if any, is last)
        working = size - (role[start_of + size - 1] == "elder")
        carrier_a = start_of + (rng.random(n) * working).astype(np.int64)
        carrier_b = start_of + (rng.random(n) * working).astype(np.int64)
        for flag, prof in (("owns_private_vehicle", "car_owner"), ("operates_transport_business", "operator"),
                           ("income_above_threshold", "high_income")):
            profile[carrier_a[design == flag]] = prof
        both = design == "owns_private_vehicle+income_above_threshold"
        profile[carrier_a[both]] = "car_owner"
        profile[carrier_b[both]] = np.where(carrier_a[both] == carrier_b[both], "car_owner+high_income", "high_income")
        members = {"_hh": hh, "_slot": slot, "role": role, "profile": profile}
        mem = pd.DataFrame(members)
        age_lo = mem["role"].map({"applicant": 25, "spouse": 25, "adult_child": 18.5, "elder": 62, "child": 3}).to_numpy(float)
        age_hi = mem["role"].map({"applicant": 66, "spouse": 66, "adult_child": 32, "elder": 86, "child": 16}).to_numpy(float)
        births = births_for_ages(rng, self.start, age_lo, age_hi, len(mem))
        hp = make_persons(rng, births, "household", self.retired_share, taken=set(self.persons["id"]))
        hp["age"] = ((self.day0 - _d(hp["birth"])).astype(np.int64) / 365.25).astype(float)
        offset = len(self.persons)
        self.persons = pd.concat([self.persons, hp], ignore_index=True)
        mem["_pid"] = np.arange(offset, offset + len(mem))
        self._household_records(rng, mem)
        # the applications
        ids = self.persons["id"].to_numpy()
        hh_ids = np.empty(n, dtype=object)
        hh_ids[:] = [list(x) for x in np.split(ids[mem["_pid"].to_numpy()], np.cumsum(size)[:-1])]
        day_of = np.repeat(np.arange(self.days), per_day)[:n]
        app_pid = mem["_pid"].to_numpy()[start_of]
        self.households = pd.DataFrame(
            {
                "applicationId": [f"SA{self.day(int(d)).strftime('%Y%m%d')}{i + 1:05d}" for i, d in enumerate(day_of)],
                "applicantIdNumber": ids[app_pid],
                "applicantName": self.persons["name"].to_numpy()[app_pid],
                "householdIdNumbers": hh_ids,
                "civilCode": self.persons["home_div"].to_numpy()[app_pid],
                "_appear": day_of,
                "_design": design,
                "_applied": None,
                "_t": np.full(n, np.datetime64("NaT"), dtype="datetime64[s]"),
            }
        )
        self.household_members = mem

    def _household_records(self, rng: np.random.Generator, mem: pd.DataFrame) -> None:
        """Records of household members that make their scenario flags hold (or not)."""
        per = self.persons
        ent = self.entities
        prof = mem["profile"].to_numpy()
        pids = mem["_pid"].to_numpy()
        initial_ent = np.flatnonzero(ent["_appear"].to_numpy() == 0)
        companies = initial_ent[np.isin(ent["aab019"].to_numpy()[initial_ent], ["50", "70", "90"])]
        # licences: the licence profile, car owners and operators
        lic = np.isin(prof, ["licence", "car_owner", "car_owner+high_income", "operator"])
        lic_pids = pids[lic]
        classes = np.where(prof[lic] == "operator", "A2", "C1").astype(object)
        self.licences = pd.concat([self.licences, self._licence_rows(
            rng, lic_pids, classes, np.zeros(len(lic_pids), dtype=np.int64), np.full(len(lic_pids), "A", dtype=object), anchor=True)],
            ignore_index=True)
        # private cars (status A, use A, small plate) and an operator's freight vehicle with its permit
        car = np.isin(prof, ["car_owner", "car_owner+high_income"])
        op = prof == "operator"
        vpids = np.concatenate([pids[car], pids[op]])
        k = len(vpids)
        is_op = np.concatenate([np.zeros(int(car.sum()), dtype=bool), np.ones(int(op.sum()), dtype=bool)])
        division = per["home_div"].to_numpy()[vpids]
        plate_type = np.where(is_op, "01", np.where(rng.random(k) < 0.8, "02", "52")).astype(object)
        taken = self.vehicles["号牌号码"] + "|" + self.vehicles["号牌种类"]
        plates = self._unique_plates(rng, division, plate_type, taken)
        first_reg = random_days(self.day0 - np.timedelta64(3000, "D"), self.day0 - np.timedelta64(30, "D"), rng, k)
        veh = pd.DataFrame(
            {
                "号牌号码": plates,
                "号牌种类": plate_type,
                "车辆类型": np.where(is_op, "H21", "K33").astype(object),
                "使用性质": np.where(is_op, "F", "A").astype(object),
                "所有人证件类型": "A",
                "所有人证件号码": per["id"].to_numpy()[vpids],
                "所有人名称": per["name"].to_numpy()[vpids],
                "初次登记日期": date_text(first_reg),
                "行政区划": division,
                "机动车状态": "A",
                "_appear": 0,
                "_t": self._past_times(rng, k, not_before=first_reg),
                "_pid": vpids,
                "_eid": -1,
                "_commercial": is_op,
                "_risky": False,
                "_anchor": True,
            }
        )
        v_offset = len(self.vehicles)
        self.vehicles = pd.concat([self.vehicles, veh], ignore_index=True)
        op_vids = np.arange(v_offset, v_offset + k)[is_op]
        if len(op_vids):
            op_pids = vpids[is_op]
            issue = first_reg[is_op] + np.timedelta64(5, "D")
            valid_to = add_years(issue, 6)
            valid_to = np.where(valid_to < self.day0 + np.timedelta64(60, "D"), add_years(valid_to, 6), valid_to)
            self.permits = pd.concat([self.permits, pd.DataFrame(
                {
                    "道路运输证号": concat_text(division[is_op], (rng.permutation(10**5)[: len(op_vids)] + 10**5 * 9).astype(str).astype(object)),
                    "车辆号牌": plates[is_op],
                    "号牌种类": plate_type[is_op],
                    "业户名称": per["name"].to_numpy()[op_pids],
                    "业户证件号码": per["id"].to_numpy()[op_pids],
                    "经营范围": "道路普通货物运输",
                    "核发日期": date_text(issue),
                    "有效期至": date_text(valid_to),
                    "证件状态": "营运",
                    "_appear": 0,
                    "_t": self._past_times(rng, len(op_vids), not_before=issue),
                    "_vid": op_vids,
                    "_anchor": True,
                    "_valid_to": valid_to,
                })], ignore_index=True)
            self.drivers = pd.concat([self.drivers, pd.DataFrame({"_vid": op_vids, "_pid": op_pids, "_qualification": "qualified"})],
                                     ignore_index=True)
            q_issue = first_reg[is_op]
            q_valid = add_years(q_issue, 6)
            q_valid = np.where(q_valid < self.day0 + np.timedelta64(60, "D"), add_years(q_valid, 6), q_valid)
            self.quals = pd.concat([self.quals, pd.DataFrame(
                {
                    "certNo": concat_text(division[is_op], (rng.permutation(10**6)[: len(op_vids)] + 9 * 10**9).astype(str).astype(object)),
                    "idNumber": per["id"].to_numpy()[op_pids],
                    "name": per["name"].to_numpy()[op_pids],
                    "qualificationType": "freight_driver",
                    "issueDate": date_text(q_issue),
                    "validTo": date_text(q_valid),
                    "status": "valid",
                    "_appear": 0,
                    "_t": self._past_times(rng, len(op_vids), not_before=q_issue),
                    "_pid": op_pids,
                    "_anchor": True,
                    "_valid_to": q_valid,
                })], ignore_index=True)
        # insured rows
        rows = []
        for profile, status, lo, hi, types in (
            ("unemployed", None, 2000, 3500, ("110",)),
            ("low_income", "1", 1800, 2400, ("110", "310")),
            ("high_income", "1", 3000, 9000, ("110", "310")),
            ("car_owner+high_income", "1", 3000, 9000, ("110", "310")),
            ("low_pension", "4", 2500, 4000, ("110",)),
            ("high_pension", "4", 3000, 6000, ("110",)),
        ):
            sel = pids[prof == profile]
            if not len(sel):
                continue
            base = np.round(rng.uniform(lo, hi, len(sel)), -1)
            if profile == "low_income":
                base[rng.random(len(sel)) < 0.15] = 3 * ASSISTANCE_STANDARD  # exactly at the threshold: not above
            st = np.where(rng.random(len(sel)) < 0.5, "2", "4").astype(object) if status is None else np.full(len(sel), status, dtype=object)
            emp = companies[rng.integers(0, len(companies), len(sel))]
            for t in types:
                rows.append(self._insured_rows(rng, sel, emp, np.full(len(sel), t, dtype=object), st, base,
                                               np.zeros(len(sel), dtype=np.int64), anchor=True))
        self.insured = pd.concat([self.insured, *rows], ignore_index=True)
        pen_pids = np.concatenate([pids[prof == "low_pension"], pids[prof == "high_pension"]])
        amount = np.concatenate([
            np.round(rng.uniform(450, 800, int((prof == "low_pension").sum())), 2),
            np.round(rng.uniform(1500, 4000, int((prof == "high_pension").sum())), 2),
        ])
        if len(amount):
            amount[: int((prof == "low_pension").sum())][rng.random(int((prof == "low_pension").sum())) < 0.15] = ASSISTANCE_STANDARD
        self.pensions = pd.concat([self.pensions, pd.DataFrame(
            {"_pid": pen_pids, "AAE140": "110", "amount": amount, "handle_day": rng.integers(1, 11, len(pen_pids)), "_anchor": True})],
            ignore_index=True)

    # ------------------------------------------------------------------------------------- daily

    REGISTERS = (  # dataset, register attribute, share of the daily churn that changes records, change function
        ("social_security.employers", "_employers", 0.03, "_change_employers"),
        ("traffic_police.motor_vehicles", "vehicles", 0.28 * 0.6, "_change_vehicles"),
        ("traffic_police.driving_licences", "licences", 0.18 * 0.7, "_change_licences"),
        ("transport.road_transport_permits", "permits", 0.07 * 0.7, "_change_permits"),
        ("transport.practitioner_qualifications", "quals", 0.07 * 0.7, "_change_quals"),
        ("traffic_police.video_points", "video", 0.09 * 0.8, "_change_video"),
        ("municipal.construction_permits", "cpermits", 0.08 * 0.6, "_change_cpermits"),
        ("social_security.insured_persons", "insured", 0.2 * 0.6, "_change_insured"),
    )

    def deliveries(self, d: int) -> dict[str, Callable[[], pd.DataFrame]]:
        """For day index ``d`` (0 = the first day): per dataset, a function giving the truthful rows it delivers
        that day, before any problem is injected. The registers' changes of the day are made here, at once;
        the rows are built when asked for, one dataset at a time (each function once; any order). Call once
        per day, in order."""
        self._employer_frame()
        out: dict[str, Callable[[], pd.DataFrame]] = {}
        for dataset, attr, share, change in self.REGISTERS:
            reg = getattr(self, attr)
            rows, kind = self._register_day(d, dataset, reg, share, getattr(self, change))
            out[dataset] = partial(self._register_rows, dataset, reg, rows, kind)
        out["social_security.benefit_payments"] = partial(self._benefits_day, d)
        out["traffic_police.violations"] = partial(self._violations_day, d)
        out["municipal.urban_cases"] = partial(self._cases_day, d)
        out["social_security.assistance_applications"] = partial(self._applications_day, d)
        out["jishiban.verification_requests"] = partial(self._requests_day, d)
        return {k: out[k] for k in DATASETS}

    def _employer_frame(self) -> pd.DataFrame:
        if not hasattr(self, "_employers"):
            ent = self.entities
            self._employers = pd.DataFrame(
                {
                    "AAB001": ent["aab001"], "AAB003": ent["uscc"], "AAB004": ent["name"], "AAB019": ent["aab019"],
                    "AAB301": ent["division"], "_appear": ent["_appear"], "_t": ent["_t"],
                    "_anchor": np.zeros(len(ent), dtype=bool),
                }
            )
        return self._employers

    def _register_day(self, d: int, dataset: str, reg: pd.DataFrame, change_share: float, change) -> tuple[np.ndarray, np.ndarray]:
        """The register's records delivered on day ``d`` (positions, and why: initial, new, change, redelivery):
        the initial state on day 0, new, changed (changed here) and re-delivered records later."""
        rng = self.rng("day", dataset, d)
        day = self.day(d)
        social = dataset.startswith("social_security.")
        appear = reg["_appear"].to_numpy()
        new = np.flatnonzero(appear == d)
        t = reg["_t"].to_numpy().copy()
        if d > 0 or social:  # new records, and the front-end database's initial load, are handled that day
            t[new] = times_on(day, len(new), rng)
        kind = np.full(len(reg), "", dtype=object)
        kind[new] = "initial" if d == 0 else "new"
        changed = np.zeros(0, dtype=np.int64)
        redelivered = np.zeros(0, dtype=np.int64)
        if d > 0:
            seen = np.flatnonzero((appear < d) & ~reg["_anchor"].to_numpy())
            if "_last" in reg.columns and (dataset, d - 1) in self.late:
                seen = seen[reg["_last"].to_numpy()[seen] != d - 1]
            budget = int(round(self.plan.churn * change_share))
            if dataset == "social_security.insured_persons":
                seen = seen[reg["_incons"].isna().to_numpy()[seen]]
            n_re = int(rng.binomial(len(seen), self.redelivery_rate)) if len(seen) else 0
            n_ch = max(0, min(len(seen) - n_re, budget - n_re))
            chosen = rng.choice(seen, n_re + n_ch, replace=False) if n_re + n_ch else np.zeros(0, dtype=np.int64)
            chosen = np.sort(chosen)
            rng.shuffle(chosen)
            redelivered, changed = np.sort(chosen[:n_re]), np.sort(chosen[n_re:])
            if len(changed):
                change(rng, reg, changed, d)
            both = np.concatenate([changed, redelivered])
            t[both] = times_on(day, len(both), rng)
            kind[changed] = "change"
            kind[redelivered] = "redelivery"
        reg["_t"] = t
        rows = np.concatenate([new, changed, redelivered])
        last = reg["_last"].to_numpy().copy() if "_last" in reg.columns else np.full(len(reg), -1, dtype=np.int64)
        last[rows] = d
        reg["_last"] = last
        return rows, kind[rows]

    def _register_rows(self, dataset: str, reg: pd.DataFrame, rows: np.ndarray, kind: np.ndarray) -> pd.DataFrame:
        frame = reg.iloc[rows].copy()
        frame["_kind"] = kind
        frame[UPDATE_COLUMN[dataset]] = time_text(frame["_t"].to_numpy())
        frame = frame.iloc[np.argsort(frame["_t"].to_numpy(), kind="stable")]  # by update time, then register order
        return frame[[*COLUMNS[dataset], *[c for c in ("_kind", "_incons") if c in frame.columns]]].reset_index(drop=True)

    # changes (registers are modified in place) ---------------------------------------------------

    def _change_employers(self, rng, reg, idx, d) -> None:
        names = reg["AAB004"].to_numpy(dtype=object).copy()
        names[idx] = [n.replace("有限公司", "有限责任公司") if n.endswith("有限公司") and not n.endswith("有限责任公司")
                      else n.replace("有限责任公司", "有限公司") if n.endswith("有限责任公司") else n + "分部" if len(n) < 14 else n
                      for n in names[idx]]
        reg["AAB004"] = names

    def _change_vehicles(self, rng, reg, idx, d) -> None:
        status = reg["机动车状态"].to_numpy(dtype=object).copy()
        cur = status[idx]
        r = rng.random(len(idx))
        transfer = (r < 0.3) & (reg["_pid"].to_numpy()[idx] >= 0) & ~reg["_commercial"].to_numpy()[idx] & (cur == "A")
        nxt = np.where(cur == "G", "A", np.where(r < 0.65, "G", np.where(r < 0.85, "E", "B"))).astype(object)
        nxt[(cur == "E") | (cur == "B")] = "A"
        status[idx[~transfer]] = nxt[~transfer]
        reg["机动车状态"] = status
        if transfer.any():
            per = self.persons
            general = np.flatnonzero((per["group"] == "general").to_numpy() & (per["age"] >= 20).to_numpy())
            t_idx = idx[transfer]
            new_owner = general[rng.integers(0, len(general), len(t_idx))]
            for col, src in (("所有人证件号码", "id"), ("所有人名称", "name"), ("行政区划", "home_div")):
                arr = reg[col].to_numpy(dtype=object).copy()
                arr[t_idx] = per[src].to_numpy()[new_owner]
                reg[col] = arr
            pid = reg["_pid"].to_numpy().copy()
            pid[t_idx] = new_owner
            reg["_pid"] = pid

    def _change_licences(self, rng, reg, idx, d) -> None:
        day = self.day(d)
        zt = reg["zt"].to_numpy(dtype=object).copy()
        pts = reg["ljjf"].to_numpy(dtype=object).copy()
        yxqs = reg["yxqs"].to_numpy(dtype=object).copy()
        yxqz = reg["yxqz"].to_numpy(dtype=object).copy()
        vz = reg["_yxqz"].to_numpy().copy()
        r = rng.random(len(idx))
        for i, ri in zip(idx, r, strict=True):
            if zt[i] == "B":  # renewed
                zt[i] = "A"
                yxqs[i] = day.isoformat()
                end = day.replace(year=day.year + 10, day=28 if (day.month, day.day) == (2, 29) else day.day)
                vz[i] = np.datetime64(end, "D")
                yxqz[i] = end.isoformat()
            elif zt[i] == "G":
                zt[i] = "A"
            elif ri < 0.6:
                pts[i] = str(min(12, int(pts[i]) + (1, 3, 6)[int(ri * 10) % 3]))
            elif ri < 0.9:
                zt[i] = "G"
            else:
                zt[i] = "E"
        reg["zt"], reg["ljjf"], reg["yxqs"], reg["yxqz"], reg["_yxqz"] = zt, pts, yxqs, yxqz, vz

    def _change_permits(self, rng, reg, idx, d) -> None:
        day = d64(self.day(d))
        status = reg["证件状态"].to_numpy(dtype=object).copy()
        vt = reg["_valid_to"].to_numpy().copy()
        r = rng.random(len(idx))
        renew = (status[idx] == "营运") & ((vt[idx] < day) | (r < 0.5))
        vt[idx[renew]] = add_years(np.maximum(vt[idx[renew]], day), 4)
        stop = ~renew & (status[idx] == "营运")
        status[idx[stop]] = np.where(r[stop] < 0.75, "注销", "吊销")
        back = status[idx] != "营运"
        status[idx[back & ~stop]] = "营运"
        reg["证件状态"] = status
        reg["_valid_to"] = vt
        reg["有效期至"] = date_text(vt)

    def _change_quals(self, rng, reg, idx, d) -> None:
        day = d64(self.day(d))
        status = reg["status"].to_numpy(dtype=object).copy()
        vt = reg["_valid_to"].to_numpy().copy()
        r = rng.random(len(idx))
        expired = vt[idx] < day
        renew = (status[idx] == "valid") & (expired | (r < 0.4))
        vt[idx[renew]] = add_years(np.maximum(vt[idx[renew]], day), 6)
        revoke = ~renew & (status[idx] == "valid")
        status[idx[revoke]] = "revoked"
        reg["status"] = status
        reg["_valid_to"] = vt
        reg["validTo"] = date_text(vt)

    def _change_video(self, rng, reg, idx, d) -> None:
        status = reg["Status"].to_numpy(dtype=object).copy()
        status[idx] = np.where(status[idx] == "ON", "OFF", "ON")
        reg["Status"] = status

    def _change_cpermits(self, rng, reg, idx, d) -> None:
        status = reg["Status"].to_numpy(dtype=object).copy()
        cur = status[idx]
        r = rng.random(len(idx))
        nxt = np.where(cur == "valid", np.where(r < 0.45, "suspended", np.where(r < 0.9, "completed", "revoked")),
                       np.where(cur == "suspended", np.where(r < 0.8, "valid", "revoked"), cur)).astype(object)
        status[idx] = nxt
        reg["Status"] = status

    def _change_insured(self, rng, reg, idx, d) -> None:
        status = reg["AAC008"].to_numpy(dtype=object).copy()
        base = reg["AAE180"].to_numpy(dtype=object).copy()
        r = rng.random(len(idx))
        cur = status[idx]
        new_status = np.where(cur == "1", np.where(r < 0.5, "2", "4"), "1").astype(object)
        rebase = (cur == "1") & (r < 0.3)
        new_status[rebase] = "1"
        status[idx] = new_status
        if rebase.any():
            old = np.array([float(x) for x in base[idx[rebase]]])
            base[idx[rebase]] = fmt_amounts(np.round(old * rng.uniform(1.02, 1.12, len(old)), -1))
        reg["AAC008"] = status
        reg["AAE180"] = base

    # events -------------------------------------------------------------------------------------

    def _benefits_day(self, d: int) -> pd.DataFrame:
        rng = self.rng("benefits", d)
        day = self.day(d)
        pen = self.pensions
        ids = self.persons["id"].to_numpy()[pen["_pid"].to_numpy()]
        parts = []
        if d == 0:
            month0 = pd.Period(day, "M")
            for back in (3, 2, 1):
                parts.append((np.arange(len(pen)), str(month0 - back).replace("-", "")))
            due = np.flatnonzero(pen["handle_day"].to_numpy() <= day.day)
            parts.append((due, str(month0).replace("-", "")))
        elif day.day <= 10:
            due = np.flatnonzero(pen["handle_day"].to_numpy() == day.day)
            parts.append((due, day.strftime("%Y%m")))
        if not parts:
            return self._empty("social_security.benefit_payments")
        idx = np.concatenate([p[0] for p in parts])
        period = np.concatenate([np.full(len(p[0]), p[1], dtype=object) for p in parts])
        frame = pd.DataFrame(
            {
                "AAC002": ids[idx],
                "AAE140": pen["AAE140"].to_numpy()[idx],
                "AAE002": period,
                "AAE019": fmt_amounts(pen["amount"].to_numpy()[idx]),
                "_t": times_on(day, len(idx), rng),
                "_kind": "initial" if d == 0 else "new",
            }
        )
        # unchanged re-deliveries of earlier payments
        if d > 0 and hasattr(self, "_benefit_history") and len(self._benefit_history):
            again = self._redelivered("social_security.benefit_payments", self._benefit_history, d, day, rng)
            if again is not None:
                frame = pd.concat([frame, again], ignore_index=True)
        self._benefit_history = pd.concat([getattr(self, "_benefit_history", frame.iloc[:0]),
                                           frame[frame["_kind"] != "redelivery"].assign(_day=d)], ignore_index=True)
        frame["AAE036"] = time_text(frame["_t"].to_numpy())
        frame = frame.sort_values(["_t", "AAC002", "AAE140", "AAE002"], kind="stable")
        return frame[[*COLUMNS["social_security.benefit_payments"], "_kind"]].reset_index(drop=True)

    def _history(self, dataset: str, hist: pd.DataFrame, d: int) -> pd.DataFrame:
        """Event rows that may be re-delivered unchanged on day ``d``: delivered in the seven days before."""
        days = hist["_day"].to_numpy()
        keep = days >= d - HISTORY_DAYS
        if (dataset, d - 1) in self.late:
            keep &= days != d - 1
        return hist[keep].reset_index(drop=True)

    def _redelivered(self, dataset: str, hist: pd.DataFrame, d: int, day, rng: np.random.Generator) -> pd.DataFrame | None:
        """Event rows delivered again unchanged on day ``d`` (with a newer time), or None: each earlier row of the
        last seven days with probability ``redelivery_rate``."""
        hist = self._history(dataset, hist, d)
        k = int(rng.binomial(len(hist), self.redelivery_rate))
        if not k:
            return None
        again = hist.iloc[np.sort(rng.choice(len(hist), k, replace=False))].copy()
        again["_t"] = times_on(day, k, rng)
        again["_kind"] = "redelivery"
        return again

    def _empty(self, dataset: str) -> pd.DataFrame:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in (*COLUMNS[dataset], "_kind")})

    def _live(self, reg: pd.DataFrame, d: int) -> np.ndarray:
        return reg["_appear"].to_numpy() <= d

    def _violations_day(self, d: int) -> pd.DataFrame:
        rng = self.rng("violations", d)
        day = self.day(d)
        veh = self.vehicles
        per = self.persons
        n = self.plan.n(0.42, "events")
        live = self._live(veh, d) & veh["机动车状态"].isin(["A", "G"]).to_numpy()
        comm = np.flatnonzero(live & veh["_commercial"].to_numpy())
        priv = np.flatnonzero(live & ~veh["_commercial"].to_numpy())
        n_comm = int(round(n * 0.45)) if len(comm) else 0
        w = np.where(veh["_risky"].to_numpy()[comm], 6.0, 1.0)
        vids = np.concatenate([comm[rng.choice(len(comm), n_comm, p=w / w.sum())] if n_comm else np.zeros(0, dtype=np.int64),
                               priv[rng.integers(0, len(priv), n - n_comm)]])
        offences = np.array(list(codes.OFFENCES), dtype=object)
        o_w = np.array([8, 10, 14, 5, 8, 6, 5, 0.6, 0.8, 12, 3], dtype=float)
        offence = offences[rng.choice(len(offences), n, p=o_w / o_w.sum())]
        fine = np.array([codes.OFFENCES[o][0] for o in offence])
        points = np.array([codes.OFFENCES[o][1] for o in offence])
        # the driver: the vehicle's driver (commercial) or its owner / another licence holder (private)
        drv = self.drivers.sort_values("_vid", kind="stable")
        drv_vid, drv_pid = drv["_vid"].to_numpy(), drv["_pid"].to_numpy()
        first = np.searchsorted(drv_vid, vids, "left")
        count = np.searchsorted(drv_vid, vids, "right") - first
        driver = np.full(n, -1, dtype=np.int64)
        has = count > 0
        driver[has] = drv_pid[first[has] + (rng.random(int(has.sum())) * count[has]).astype(np.int64)]
        owner = veh["_pid"].to_numpy()[vids]
        own = ~has & (owner >= 0) & (rng.random(n) < 0.85)
        driver[own] = owner[own]
        holders = self.licences["_pid"].to_numpy()[~self.licences["_anchor"].to_numpy() & (self.licences["_appear"].to_numpy() <= d)]
        rest = driver < 0
        driver[rest] = holders[rng.integers(0, len(holders), int(rest.sum()))]
        processed = rng.random(n) < 0.75
        div = np.where(rng.random(n) < 0.8, veh["行政区划"].to_numpy()[vids],
                       pick(rng, codes.current_counties(), n)).astype(object)
        times = times_on(day, n, rng, 0, 24)
        serial = np.arange(self._serial["violation"], self._serial["violation"] + n)
        self._serial["violation"] += n
        frame = pd.DataFrame(
            {
                "违法编号": concat_text(div, day.strftime("%Y%m%d"), np.char.zfill(serial.astype("U6"), 6).astype(object)),
                "号牌号码": veh["号牌号码"].to_numpy()[vids],
                "号牌种类": veh["号牌种类"].to_numpy()[vids],
                "违法时间": time_text(times),
                "违法地点": self._streets(rng, div, crossing=False),
                "行政区划": div,
                "违法行为代码": offence,
                "罚款金额": fine.astype(str).astype(object),
                "违法记分": points.astype(str).astype(object),
                "当事人证件号码": np.where(processed, per["id"].to_numpy()[np.maximum(driver, 0)], None),
                "处理状态": np.where(processed, "1", "0").astype(object),
                "_t": times,
                "_kind": "new",
                "_driver": driver,
            }
        )
        # earlier captures processed today, and unchanged re-deliveries of processed ones
        parts = [frame]
        if len(self.pending_violations):
            pend = self.pending_violations
            done = rng.random(len(pend)) < 0.5
            if done.any():
                upd = pend[done].copy()
                upd["当事人证件号码"] = per["id"].to_numpy()[upd["_driver"].to_numpy()]
                upd["处理状态"] = "1"
                upd["_kind"] = "change"
                upd["_t"] = times_on(day, len(upd), rng)
                parts.append(upd)
            self.pending_violations = pend[~done]
        if d > 0 and len(getattr(self, "_violation_history", ())):
            again = self._redelivered("traffic_police.violations", self._violation_history, d, day, rng)
            if again is not None:
                parts.append(again)
        out = pd.concat(parts, ignore_index=True)
        self.pending_violations = pd.concat([self.pending_violations, frame[~processed]], ignore_index=True)
        done_rows = out[(out["处理状态"] == "1") & (out["_kind"] != "redelivery")]
        self._violation_history = pd.concat([getattr(self, "_violation_history", done_rows.iloc[:0]), done_rows.assign(_day=d)],
                                            ignore_index=True)
        out = out.sort_values(["_t", "违法编号"], kind="stable")
        return out[[*COLUMNS["traffic_police.violations"], "_kind"]].reset_index(drop=True)

    def _cases_day(self, d: int) -> pd.DataFrame:
        rng = self.rng("cases", d)
        day = self.day(d)
        n = self.plan.n(0.20, "events")
        counties = np.array(codes.current_counties(), dtype=object)
        div = counties[rng.integers(0, len(counties), n)]
        lon, lat = self._coords(rng, div)
        reported = times_on(day, n, rng, 6, 20)
        closed_now = rng.random(n) < 0.3
        closed_at = reported + rng.integers(1800, 4 * 3600, n).astype("timedelta64[s]")
        party = rng.choice(3, n, p=[0.4, 0.35, 0.25])
        ent = self.entities
        live_ent = np.flatnonzero(ent["_appear"].to_numpy() <= d)
        general = np.flatnonzero((self.persons["group"] == "general").to_numpy() & (self.persons["age"] >= 18).to_numpy())
        serial = np.arange(self._serial["case"], self._serial["case"] + n)
        self._serial["case"] += n
        frame = pd.DataFrame(
            {
                "case_no": concat_text("CG", day.strftime("%Y%m%d"), np.char.zfill(serial.astype("U6"), 6).astype(object)),
                "category": pick(rng, codes.URBAN_CATEGORIES, n),
                "reported_at": time_text(reported),
                "civil_code": div,
                "address": self._streets(rng, div, crossing=False),
                "longitude": lon,
                "latitude": lat,
                "status": np.where(closed_now, "closed", "open").astype(object),
                "closed_at": np.where(closed_now, time_text(closed_at), None),
                "party_uscc": np.where(party == 0, ent["uscc"].to_numpy()[live_ent[rng.integers(0, len(live_ent), n)]], None),
                "party_id_number": np.where(party == 1, self.persons["id"].to_numpy()[general[rng.integers(0, len(general), n)]], None),
                "_t": reported,
                "_kind": "new",
            }
        )
        parts = [frame]
        if len(self.open_cases):
            oc = self.open_cases
            close = rng.random(len(oc)) < 0.4
            if close.any():
                upd = oc[close].copy()
                upd["status"] = "closed"
                t = times_on(day, len(upd), rng, 8, 20)
                upd["closed_at"] = time_text(t)
                upd["_t"] = t
                upd["_kind"] = "change"
                parts.append(upd)
            self.open_cases = oc[~close]
        if d > 0 and len(getattr(self, "_case_history", ())):
            again = self._redelivered("municipal.urban_cases", self._case_history, d, day, rng)
            if again is not None:
                parts.append(again)
        out = pd.concat(parts, ignore_index=True)
        self.open_cases = pd.concat([self.open_cases, frame[~closed_now]], ignore_index=True)
        closed = out[(out["status"] == "closed") & (out["_kind"] != "redelivery")]
        self._case_history = pd.concat([getattr(self, "_case_history", closed.iloc[:0]), closed.assign(_day=d)], ignore_index=True)
        out = out.sort_values(["_t", "case_no"], kind="stable")
        return out[[*COLUMNS["municipal.urban_cases"], "_kind"]].reset_index(drop=True)

    def _applications_day(self, d: int) -> pd.DataFrame:
        rng = self.rng("applications", d)
        day = self.day(d)
        hh = self.households
        new = np.flatnonzero(hh["_appear"].to_numpy() == d)
        applied = times_on(day, len(new), rng, 8, 17)
        hh.loc[new, "_applied"] = time_text(applied)
        t = hh["_t"].to_numpy().copy()
        t[new] = applied + rng.integers(0, 3600, len(new)).astype("timedelta64[s]")
        kind = np.full(len(hh), "", dtype=object)
        kind[new] = "new"
        appear = hh["_appear"].to_numpy()
        earlier = np.flatnonzero((appear < d) & (appear >= d - HISTORY_DAYS) & ~((appear == d - 1) & ((
            "social_security.assistance_applications", d - 1) in self.late)))
        k = int(rng.binomial(len(earlier), self.redelivery_rate * 3)) if len(earlier) else 0
        again = np.sort(rng.choice(earlier, k, replace=False)) if k else np.zeros(0, dtype=np.int64)
        t[again] = times_on(day, k, rng, 8, 20)
        kind[again] = "redelivery"
        hh["_t"] = t
        rows = np.concatenate([new, again])
        frame = hh.iloc[rows].copy()
        frame["appliedAt"] = frame["_applied"]
        frame["updatedAt"] = time_text(frame["_t"].to_numpy())
        frame["_kind"] = kind[rows]
        frame = frame.sort_values(["_t", "applicationId"], kind="stable")
        return frame[[*COLUMNS["social_security.assistance_applications"], "_kind"]].reset_index(drop=True)

    # verification requests --------------------------------------------------------------------

    def certificates(self, d: int) -> pd.DataFrame:
        """Every certificate that exists on day index ``d`` with its true holder and the verification result a
        request on that day should get (before holder mismatches and forgeries)."""
        day = d64(self.day(d))
        lic = self.licences[self._live(self.licences, d)]
        zt = lic["zt"].to_numpy()
        expired = (zt == "B") | ((zt == "A") & (lic["_yxqz"].to_numpy() < day))
        lic_res = np.select([zt == "E", zt == "G", expired], ["revoked", "suspended", "expired"], "valid")
        per_status = self.permits[self._live(self.permits, d)]
        ps = per_status["证件状态"].to_numpy()
        p_res = np.select([ps != "营运", per_status["_valid_to"].to_numpy() < day], ["revoked", "expired"], "valid")
        q = self.quals[self._live(self.quals, d)]
        q_res = np.select([q["status"].to_numpy() == "revoked", q["_valid_to"].to_numpy() < day], ["revoked", "expired"], "valid")
        cp = self.cpermits[self._live(self.cpermits, d)]
        cs = cp["Status"].to_numpy()
        c_res = np.select([cs == "revoked", cs == "suspended"], ["revoked", "suspended"], "valid")
        frames = [
            pd.DataFrame({"cert_type": "driving_licence", "cert_no": lic["sfzmhm"].to_numpy(), "holder_id": lic["sfzmhm"].to_numpy(),
                          "holder_name": lic["xm"].to_numpy(), "status": zt, "result": lic_res}),
            pd.DataFrame({"cert_type": "road_transport_permit", "cert_no": per_status["道路运输证号"].to_numpy(),
                          "holder_id": per_status["业户证件号码"].to_numpy(), "holder_name": per_status["业户名称"].to_numpy(),
                          "status": ps, "result": p_res}),
            pd.DataFrame({"cert_type": "practitioner_qualification", "cert_no": q["certNo"].to_numpy(), "holder_id": q["idNumber"].to_numpy(),
                          "holder_name": q["name"].to_numpy(), "status": q["status"].to_numpy(), "result": q_res}),
            pd.DataFrame({"cert_type": "construction_permit", "cert_no": cp["PermitNo"].to_numpy(), "holder_id": cp["BuilderUSCC"].to_numpy(),
                          "holder_name": cp["BuilderName"].to_numpy(), "status": cs, "result": c_res}),
        ]
        return pd.concat(frames, ignore_index=True)

    def _requests_day(self, d: int) -> pd.DataFrame:
        rng = self.rng("requests", d)
        day = self.day(d)
        certs = self.certificates(d)
        n = self.plan.n(0.22, "events")
        ctype = pick(rng, codes.CERT_TYPES, n)
        want = pick(rng, VERIFICATION_OUTCOMES, n, p=VERIFICATION_SHARE)
        if n >= 24:  # every certificate type with every outcome it can have, at least once a day
            combos = [(t, o) for t in codes.CERT_TYPES for o in VERIFICATION_OUTCOMES]
            ctype[: len(combos)] = [c[0] for c in combos]
            want[: len(combos)] = [c[1] for c in combos]
        cert_no = np.empty(n, dtype=object)
        holder_id = np.empty(n, dtype=object)
        holder_name = np.empty(n, dtype=object)
        result = np.empty(n, dtype=object)
        per = self.persons
        general = np.flatnonzero((per["group"] == "general").to_numpy())
        ent_live = np.flatnonzero(self.entities["_appear"].to_numpy() <= d)
        lic_ids = self.licences["sfzmhm"]
        for t in codes.CERT_TYPES:
            of_type = certs[certs["cert_type"] == t]
            by_result = {r: np.flatnonzero(of_type["result"].to_numpy() == r) for r in ("valid", "expired", "suspended", "revoked")}
            for o in VERIFICATION_OUTCOMES:
                sel = np.flatnonzero((ctype == t) & (want == o))
                if not len(sel):
                    continue
                if o == "not_found":
                    forged, fid, fname = self._forgeries(rng, t, len(sel), lic_ids, general, ent_live)
                    cert_no[sel], holder_id[sel], holder_name[sel] = forged, fid, fname
                    result[sel] = "not_found"
                    continue
                base = "valid" if o == "holder_mismatch" else o
                pool = by_result.get(base, np.zeros(0, dtype=np.int64))
                res = o
                if not len(pool):
                    pool, res = by_result["valid"], "valid"
                if not len(pool):
                    forged, fid, fname = self._forgeries(rng, t, len(sel), lic_ids, general, ent_live)
                    cert_no[sel], holder_id[sel], holder_name[sel] = forged, fid, fname
                    result[sel] = "not_found"
                    continue
                chosen = of_type.iloc[pool[rng.integers(0, len(pool), len(sel))]]
                cert_no[sel] = chosen["cert_no"].to_numpy()
                holder_id[sel] = chosen["holder_id"].to_numpy()
                holder_name[sel] = chosen["holder_name"].to_numpy()
                result[sel] = res
                if res == "holder_mismatch":
                    wrong_id = rng.random(len(sel)) < 0.5
                    is_person = np.array([h[:2] == "22" for h in holder_id[sel]], dtype=bool)
                    other_p = general[rng.integers(0, len(general), len(sel))]
                    other_e = ent_live[rng.integers(0, len(ent_live), len(sel))]
                    other_id = np.where(is_person, per["id"].to_numpy()[other_p], self.entities["uscc"].to_numpy()[other_e])
                    other_name = np.where(is_person, per["name"].to_numpy()[other_p], self.entities["name"].to_numpy()[other_e])
                    ids_now = holder_id[sel].copy()
                    names_now = holder_name[sel].copy()
                    ids_now[wrong_id] = other_id[wrong_id]
                    names_now[~wrong_id] = other_name[~wrong_id]
                    same = (ids_now == holder_id[sel]) & (names_now == holder_name[sel])
                    names_now[same] = names_now[same] + "某"
                    holder_id[sel], holder_name[sel] = ids_now, names_now
        times = times_on(day, n, rng, 7, 22)
        serial = np.arange(self._serial["request"], self._serial["request"] + n)
        self._serial["request"] += n
        frame = pd.DataFrame(
            {
                "requestId": concat_text("JSB-", day.strftime("%Y%m%d"), "-", np.char.zfill(serial.astype("U7"), 7).astype(object)),
                "certType": ctype,
                "certNo": cert_no,
                "holderId": holder_id,
                "holderName": holder_name,
                "requestedAt": time_text(times),
                "_t": times,
                "_kind": "new",
                "_result": result,
            }
        )
        frame = frame.sort_values(["_t", "requestId"], kind="stable").reset_index(drop=True)
        self.requests_world.append(frame[["requestId", "certType", "certNo", "holderId", "holderName", "_result"]]
                                   .rename(columns={"_result": "intended_result"}).assign(day=day.isoformat()))
        return frame[[*COLUMNS["jishiban.verification_requests"], "_kind"]]

    def _forgeries(self, rng, cert_type: str, n: int, lic_ids: pd.Series, general: np.ndarray, ent_live: np.ndarray):
        """Certificate numbers never issued (by construction: number ranges no register uses) and a presenter.

        Driving licences: the ID number of someone without a licence; permits: serial 0xxxxx; qualifications:
        serial 8xxxxxxxxx; construction permits: serial 0000."""
        per = self.persons
        ent = self.entities
        if cert_type == "driving_licence":
            pool = general[~per["id"].iloc[general].isin(lic_ids).to_numpy()]
            cand = pool[rng.integers(0, len(pool), n)]
            return per["id"].to_numpy()[cand], per["id"].to_numpy()[cand], per["name"].to_numpy()[cand]
        counties = np.array(codes.current_counties(), dtype=object)
        div = counties[rng.integers(0, len(counties), n)]
        if cert_type == "road_transport_permit":
            nums = concat_text(div, "0", np.char.zfill(rng.integers(0, 10**5, n).astype("U5"), 5).astype(object))
        elif cert_type == "practitioner_qualification":
            nums = concat_text(div, "8", np.char.zfill(rng.integers(0, 10**9, n).astype("U9"), 9).astype(object))
        else:
            issued = random_days(np.datetime64("2018-01-01"), self.day0, rng, n)
            nums = concat_text(div, yyyymmdd(issued).astype(str).astype(object), "0000")
        if cert_type == "practitioner_qualification" or rng.random() < 0.3:
            who = general[rng.integers(0, len(general), n)]
            return nums, per["id"].to_numpy()[who], per["name"].to_numpy()[who]
        who = ent_live[rng.integers(0, len(ent_live), n)]
        return nums, ent["uscc"].to_numpy()[who], ent["name"].to_numpy()[who]

    # ground truth of the world -------------------------------------------------------------------

    def world_tables(self) -> dict[str, pd.DataFrame]:
        """The entity model, written to ``_ground_truth/world/<name>.parquet``:

        * ``persons``: true ID number, name, sex, birth date, the address code in the ID (``id_code``), the
          current county (``home_div``), whether the ID carries a since-retired code, ``group`` (general /
          household: the applicants' households have persons of their own);
        * ``entities``: USCC, name, kind, AAB019 type, division, employer number AAB001, first day index;
        * ``households``: one per assistance application, with ``design``: ``eligible`` or the flag(s) of
          DESIGN.md it was built to raise (two joined by ``+``);
        * ``household_members``: slot (0 = applicant), ID, role, ``profile`` (the records made for the member);
        * ``pensions``: monthly pension (AAE140 110/120) per retiree and the day of the month it is handled;
        * ``vehicle_drivers``: drivers of commercial vehicles and their qualification (qualified, none, wrong_type,
          expired, revoked);
        * ``certificates_final``: every certificate on the last day, its holder, raw status and the verification
          result a request that day gets;
        * ``verification_requests``: every request with the ``intended_result`` in the true world (a request
          about a certificate whose delivery came a day late, or was quarantined, may be answered otherwise).

        The generator adds ``inconsistencies``: the deliberate disagreements between departments, by delivered
        row (name_mismatch, birth_date_mismatch, duplicate_enrollment, unknown_employer)."""
        per = self.persons
        hh = self.households
        mem = self.household_members
        members = mem.merge(per[["id"]], left_on="_pid", right_index=True)
        members = members.merge(hh[["applicationId"]], left_on="_hh", right_index=True)
        pens = self.pensions.assign(id=per["id"].to_numpy()[self.pensions["_pid"].to_numpy()])
        drv = self.drivers.assign(
            plate=self.vehicles["号牌号码"].to_numpy()[self.drivers["_vid"].to_numpy()],
            plate_type=self.vehicles["号牌种类"].to_numpy()[self.drivers["_vid"].to_numpy()],
            driver_id=per["id"].to_numpy()[self.drivers["_pid"].to_numpy()],
        )
        certs = self.certificates(self.days - 1)
        return {
            "persons": per.assign(birth=date_text(per["birth"].to_numpy()), age=per["age"].round(2))[
                ["id", "name", "sex", "birth", "id_code", "home_div", "retired_code", "group"]],
            "entities": self.entities.drop(columns=["_t"]).rename(columns={"_appear": "appear_day_index"}),
            "households": hh.assign(
                householdIdNumbers=[json.dumps(list(x), ensure_ascii=False) for x in hh["householdIdNumbers"]],
                appliedAt=hh["_applied"], design=hh["_design"], first_day_index=hh["_appear"],
            )[["applicationId", "applicantIdNumber", "applicantName", "householdIdNumbers", "civilCode", "appliedAt", "design",
               "first_day_index"]],
            "household_members": members[["applicationId", "_slot", "id", "role", "profile"]].rename(columns={"_slot": "slot"}),
            "pensions": pens[["id", "AAE140", "amount", "handle_day"]].rename(columns={"amount": "monthly_amount",
                                                                                         "handle_day": "handled_on_day_of_month"}),
            "vehicle_drivers": drv[["plate", "plate_type", "driver_id", "_qualification"]].rename(columns={"_qualification": "qualification"}),
            "certificates_final": certs.rename(columns={"result": "result_on_last_day"}),
            "verification_requests": pd.concat(self.requests_world, ignore_index=True) if self.requests_world else pd.DataFrame(),
        }

