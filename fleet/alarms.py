"""Alarms: the rules, in plain Python (no SQL, no Flask).

An alarm is a condition on a machine (or one of its components) that a person must see:
a diagnosis finding, a trend alarm, a remaining-useful-life P10 below the planning horizon, a J1939
DM1 fault code with a lit lamp, or a machine that stopped reporting. It is separate from the work
order it may open: an alarm says "something is wrong now", a work order "someone goes and fixes it".

Life cycle::

    active ──acknowledge──► acknowledged ──clear──► cleared
       └──────────────────────clear───────────────────┘   (condition gone, nobody acknowledged)

There is at most one not-cleared alarm per machine + component + cause (the database enforces
it with a partial unique index); a repeat of the condition updates that alarm (count, last seen,
severity only ever raised). :class:`AlarmLifecycle` is inherited by ``fleet.models.Alarm`` and
records a domain event (:mod:`fleet.events`) for each change in ``pending_events``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from typing import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .workorders import DomainError

ACTIVE = "active"
ACKNOWLEDGED = "acknowledged"
CLEARED = "cleared"
STATES = (ACTIVE, ACKNOWLEDGED, CLEARED)
#: States that still count as "the" alarm of its cause (dedup, machine status).
OPEN_STATES = (ACTIVE, ACKNOWLEDGED)

SOURCES = ("diagnosis", "trend", "rul", "dm1", "stale", "onset", "security")
SEVERITIES = ("watch", "warning", "alarm")
SOURCE_LABELS = {"diagnosis": "Diagnosis", "trend": "Trend", "rul": "Remaining life", "dm1": "Fault code",
                 "stale": "Not reporting", "onset": "Degradation onset",
                 "security": "Security"}


def severity_rank(severity: str) -> int:
    """0 for ``watch`` … 2 for ``alarm``; unknown values rank lowest (-1)."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else -1


def is_urgent(severity: str) -> bool:
    """Urgent alarms reach people even in their quiet hours."""
    return severity == "alarm"


class AlarmNotFound(LookupError):
    """No such alarm, or not visible to the caller."""


class InvalidAlarmTransition(DomainError):
    """Acknowledging or clearing an alarm in a state that does not allow it."""


@dataclass(frozen=True)
class AlarmCondition:
    """One observation of a condition that should be (or keep) an alarm.

    ``cause`` identifies the condition within its component, e.g. ``bearing:DE`` (any fault mode
    of that bearing: ``fleet.bearing_verdicts``), ``unbalance``,
    ``spn110:fmi0``, ``not_reporting``; with the machine, component name and source it is the
    dedup key. ``component`` is ``""`` for machine-level conditions (fault codes, stale data).
    """

    machine_id: int
    component: str
    source: str
    cause: str
    severity: str
    title: str
    observed_at: datetime
    component_id: int | None = None
    detail: Mapping | None = None

    def __post_init__(self):
        if self.source not in SOURCES:
            raise ValueError(f"alarm source must be one of {SOURCES}, got {self.source!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"alarm severity must be one of {SEVERITIES}, got {self.severity!r}")

    @property
    def key(self) -> tuple[int, str, str]:
        return (self.machine_id, self.component, f"{self.source}:{self.cause}")


class AlarmLifecycle:
    """Life-cycle methods of the ``Alarm`` model; expects its columns (state, severity, count,
    first/last seen, acknowledged_*, cleared_*, history) and collects events in ``pending_events``.
    """

    def _record(self, kind, actor: str | None = None, comment: str = "", **extra) -> None:
        events = getattr(self, "_pending", None)
        if events is None:
            events = self._pending = []
        events.append((kind, actor, comment, extra))

    @property
    def pending_events(self) -> list:
        """``(event class, actor, comment, extra)`` recorded since the last :meth:`take_events`."""
        return list(getattr(self, "_pending", None) or [])

    def take_events(self) -> list:
        events = self.pending_events
        self._pending = []
        return events

    def _note(self, when: datetime, text: str, actor: str | None = None) -> None:
        entry = {"at": when.isoformat(), "note": text}
        if actor:
            entry["by"] = actor
        self.history = [*(self.history or []), entry]  # reassigned: SQLAlchemy sees the JSON change

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def repeat(self, condition: AlarmCondition) -> bool:
        """The condition was seen again: count it, move last-seen, keep the worse severity and the
        newer detail. Returns True when the severity went up (people are told again).

        An alarm whose key is wider than its verdict (a bearing's diagnosis alarm, any fault mode
        of that bearing) names its verdict in ``detail["fault_mode"]``; a newer observation with
        another one retitles the alarm and says so in its history
        (``fleet.bearing_verdicts.verdict_change``). An older observation (a sweep catching up
        out of order) is counted but changes neither detail nor verdict."""
        from .bearing_verdicts import verdict_change
        from .events import AlarmUpdated

        if not self.is_open:
            raise InvalidAlarmTransition(f"alarm {self.id} is cleared; a new one must be raised")
        self.count = (self.count or 1) + 1
        newest = self.last_seen_at is None or condition.observed_at >= self.last_seen_at
        if newest:
            self.last_seen_at = condition.observed_at
        raised = severity_rank(condition.severity) > severity_rank(self.severity)
        if raised:
            self._note(condition.observed_at, f"severity {self.severity} → {condition.severity}")
            self.severity = condition.severity
            if newest:
                self.title = condition.title
        if newest and condition.detail is not None:
            changed = verdict_change(self.detail, condition.detail)
            if changed:
                self._note(condition.observed_at, changed)
                self.title = condition.title
            self.detail = dict(condition.detail)
        self._record(AlarmUpdated, severity_raised=raised)
        return raised

    def acknowledge(self, actor: str, user_id: int | None, comment: str = "", when: datetime | None = None) -> None:
        """Someone has seen the alarm and takes care of it: escalation stops."""
        from .events import AlarmAcknowledged

        if self.state != ACTIVE:
            raise InvalidAlarmTransition(f"alarm {self.id} is {self.state}, only an active alarm can be acknowledged")
        when = when or datetime.now(timezone.utc)
        self.state = ACKNOWLEDGED
        self.acknowledged_at, self.acknowledged_by_id = when, user_id
        self.acknowledged_by, self.ack_comment = actor, (comment or "").strip()[:500]
        self.next_escalation_at = None
        self._note(when, "acknowledged" + (f": {self.ack_comment}" if self.ack_comment else ""), actor)
        self._record(AlarmAcknowledged, actor, self.ack_comment)

    def clear(self, actor: str | None, user_id: int | None = None, comment: str = "",
              when: datetime | None = None, reason: str = "manual") -> None:
        """The condition is gone (``reason="condition_gone"``, actor None) or a person closes it."""
        from .events import AlarmCleared

        if self.state == CLEARED:
            raise InvalidAlarmTransition(f"alarm {self.id} is already cleared")
        when = when or datetime.now(timezone.utc)
        self.state = CLEARED
        self.cleared_at, self.cleared_by_id, self.cleared_by = when, user_id, actor
        self.clear_comment, self.clear_reason = (comment or "").strip()[:500], reason
        self.next_escalation_at = None
        self.open_key = None
        self._note(when, f"cleared ({reason.replace('_', ' ')})" + (f": {self.clear_comment}" if self.clear_comment else ""),
                   actor)
        self._record(AlarmCleared, actor, self.clear_comment)


# --- auto-clear of burst alarms -------------------------------------------------------------------------

#: Clean bursts in a row after which a diagnosis or trend alarm clears itself (``condition_gone``).
DEFAULT_CLEAR_BURSTS = {"diagnosis": 3, "trend": 6}
#: A trend alarm's feature is "clean" again below this many baseline sigmas (in its worse direction).
TREND_CLEAN_SIGMAS = 3.0


@dataclass(frozen=True)
class ClearRules:
    """How many consecutive clean bursts of the alarm's sensor clear a diagnosis or trend alarm.

    ``by_source`` gives the number per source (``diagnosis``, ``trend``); ``by_cause`` overrides it
    for one fault mode or trend feature, keyed ``"<source>:<fault mode or feature>"`` (the cause's
    part before its first colon: ``diagnosis:bearing_outer_race``, ``trend:velocity_rms_mm_s``).
    0 means never by itself (a person clears it, or the repair). Configured with
    ``IRONWATCH_ALARM_CLEAR_BURSTS`` (:meth:`parse`), documented in docs/alarms.md.
    """

    by_source: Mapping[str, int] = None  # type: ignore[assignment]
    by_cause: Mapping[str, int] = None  # type: ignore[assignment]

    def __post_init__(self):
        object.__setattr__(self, "by_source", dict(DEFAULT_CLEAR_BURSTS if self.by_source is None else self.by_source))
        object.__setattr__(self, "by_cause", dict(self.by_cause or {}))

    def bursts_for(self, source: str, cause: str) -> int:
        """Clean bursts that clear an alarm of ``source`` and ``cause`` (0: never by itself)."""
        head = (cause or "").split(":", 1)[0]
        if f"{source}:{head}" in self.by_cause:
            return self.by_cause[f"{source}:{head}"]
        return self.by_source.get(source, 0)

    @classmethod
    def parse(cls, text: str | None) -> "ClearRules":
        """``"diagnosis=3, trend=6, diagnosis:looseness=2, trend:health_index=0"`` on top of the
        defaults; empty text gives the defaults. ``ValueError`` names the bad item."""
        by_source, by_cause = dict(DEFAULT_CLEAR_BURSTS), {}
        for item in (text or "").split(","):
            item = item.strip()
            if not item:
                continue
            key, sep, value = item.partition("=")
            key = key.strip()
            source = key.split(":", 1)[0]
            if not sep or source not in DEFAULT_CLEAR_BURSTS or not value.strip().isdigit():
                raise ValueError(f"alarm clear rule {item!r}: expected <source>[:<cause>]=<bursts> with source one of "
                                 f"{', '.join(DEFAULT_CLEAR_BURSTS)} and a whole number of bursts")
            (by_cause if ":" in key else by_source)[key] = int(value)
        return cls(by_source, by_cause)


def trend_is_clean(trend: Mapping, value: float | None, direction: str) -> bool | None:
    """Whether a burst's value of a trend alarm's feature is back near the alarm's baseline:
    below ``TREND_CLEAN_SIGMAS`` sigmas in the worse ``direction`` (``"up"`` or ``"down"``).
    None when it cannot be told (no value, no baseline in the alarm)."""
    try:
        baseline, sigma = float(trend["baseline"]), float(trend["sigma"])
    except (KeyError, TypeError, ValueError):
        return None
    if value is None or sigma <= 0:
        return None
    z = (float(value) - baseline) / sigma
    return (z if direction == "up" else -z) < TREND_CLEAN_SIGMAS


def clean_streak(detail: Mapping | None) -> int:
    """Clean bursts counted so far on an open alarm (kept in its detail; a repeat resets it)."""
    return int((detail or {}).get("clean_bursts") or 0)


# --- sources: DM1 fault codes --------------------------------------------------------------------------

#: DM1 lamps that make an alarm, with the severity. The malfunction indicator (MIL) is an emissions
#: lamp: a warning. Protect is informational and raises nothing on its own.
LAMP_SEVERITY = {"red_stop": "alarm", "amber_warning": "warning", "mil": "warning"}


def fault_code_cause(spn: int, fmi: int) -> str:
    """The alarm cause of a DM1 code: ``spn110:fmi0``."""
    return f"spn{int(spn)}:fmi{int(fmi)}"


def fault_code_severity(spn: int, fmi: int, lamps: Mapping[str, int],
                        overrides: Mapping[str, str | None] | None = None) -> str | None:
    """Severity of one active DM1 code, or None when it should raise no alarm.

    DM1 carries the lamps of the whole message, not per code: the worst lit lamp sets the
    severity of the codes it came with (a red stop lamp → ``alarm``, amber or MIL → ``warning``);
    with no lamp lit a code is ``watch``. ``overrides`` maps ``"<spn>:<fmi>"`` or ``"<spn>"`` to a
    severity (or None: ignore this code), so an OEM can say "SPN 97 water in fuel is always an
    alarm" or "SPN 168 FMI 17 low battery is only a watch".

    Parameters
    ----------
    spn, fmi : int
        Suspect parameter number and failure mode identifier (SAE J1939-73).
    lamps : mapping
        DM1 lamp status, 0 = off, 1..3 = on (``red_stop``, ``amber_warning``, ``mil``, ``protect``).
    overrides : mapping, optional
        Per-code configuration as above.
    """
    overrides = overrides or {}
    for key in (f"{int(spn)}:{int(fmi)}", f"{int(spn)}"):
        if key in overrides:
            severity = overrides[key]
            if severity is not None and severity not in SEVERITIES:
                raise ValueError(f"fault-code override {key} has unknown severity {severity!r}")
            return severity
    lit = [LAMP_SEVERITY[k] for k, v in lamps.items() if k in LAMP_SEVERITY and int(v or 0) > 0]
    if not lit:
        return "watch"
    return max(lit, key=severity_rank)


# --- sources: stale data --------------------------------------------------------------------------------

#: A running machine (a prime-power genset) reports every minute; silence this long is an alarm. An
#: excavator's unit falls back to a 15-min key-off heartbeat overnight: the seed gives it 60 min
#: (fleet.demo_fleet.EXCAVATOR_REPORTING), as a standby set.
DEFAULT_REPORT_WINDOW = timedelta(minutes=30)
#: A standby genset's telematics unit sends a key-off heartbeat every 15 min while the set stands
#: still; four missed heartbeats (a coverage gap of most of an hour) make it "not reporting".
STANDBY_REPORT_WINDOW = timedelta(minutes=60)


@dataclass(frozen=True)
class ReportingPolicy:
    """How long a machine's device may stay silent (``Machine.last_seen_at``: the last upload the
    server stored from it or its newest sample, whichever is newer; ``fleet.contact``).

    ``window`` applies at all times, except that a standby genset (``standby=True``) is expected to
    report within ``DEFAULT_REPORT_WINDOW`` during its scheduled exercise run (``exercise_weekday``
    0 = Monday, ``exercise_start`` local time at the site, ``exercise_minutes`` long) and within
    ``window`` (default 60 min: four of its 15-min key-off heartbeats) otherwise.
    """

    window: timedelta = DEFAULT_REPORT_WINDOW
    standby: bool = False
    exercise_weekday: int | None = None
    exercise_start: time | None = None
    exercise_minutes: int = 30
    timezone: str = "UTC"

    @classmethod
    def from_settings(cls, settings: Mapping | None, site_timezone: str = "UTC") -> "ReportingPolicy":
        """From a machine's ``reporting`` JSON: ``{"window_min": 30}`` or ``{"standby": true,
        "window_min": 60, "exercise": {"weekday": 2, "start": "10:00", "minutes": 30}}``."""
        settings = settings or {}
        standby = bool(settings.get("standby"))
        default = STANDBY_REPORT_WINDOW if standby else DEFAULT_REPORT_WINDOW
        window = timedelta(minutes=float(settings["window_min"])) if settings.get("window_min") else default
        exercise = settings.get("exercise") or {}
        start = None
        if exercise.get("start"):
            hours, minutes = (int(x) for x in str(exercise["start"]).split(":"))
            start = time(hours, minutes)
        return cls(window=window, standby=standby, exercise_weekday=exercise.get("weekday"),
                   exercise_start=start, exercise_minutes=int(exercise.get("minutes", 30)),
                   timezone=site_timezone or "UTC")

    def in_exercise(self, now: datetime) -> bool:
        """True while ``now`` lies in the standby set's scheduled exercise run (plus the window's
        grace: the run has had time to report)."""
        if not self.standby or self.exercise_weekday is None or self.exercise_start is None:
            return False
        local = now.astimezone(zone(self.timezone))
        if local.weekday() != self.exercise_weekday:
            return False
        start = local.replace(hour=self.exercise_start.hour, minute=self.exercise_start.minute, second=0, microsecond=0)
        return start + DEFAULT_REPORT_WINDOW <= local < start + timedelta(minutes=self.exercise_minutes) + DEFAULT_REPORT_WINDOW

    def allowed_silence(self, now: datetime) -> timedelta:
        """The longest silence acceptable at ``now``."""
        return DEFAULT_REPORT_WINDOW if self.in_exercise(now) else self.window


def is_stale(last_seen_at: datetime | None, now: datetime, policy: ReportingPolicy) -> bool:
    """True when a machine that has reported before has been silent longer than allowed.

    A machine that never reported is not "stale" (it is not commissioned yet): None → False.
    """
    if last_seen_at is None:
        return False
    return now - last_seen_at > policy.allowed_silence(now)


def silence_text(last_seen_at: datetime, now: datetime) -> str:
    """``"no data for 2 h 05 min"``."""
    minutes = int((now - last_seen_at).total_seconds() // 60)
    if minutes < 60:
        return f"no data for {minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"no data for {hours} h {minutes:02d} min"
    return f"no data for {hours // 24} days"


# --- user preferences -----------------------------------------------------------------------------------

def zone(name: str | None) -> ZoneInfo:
    """``ZoneInfo(name)``, UTC for an empty or unknown name."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def in_quiet_hours(now: datetime, start: time | None, end: time | None, tz: str | None) -> bool:
    """True when ``now`` lies in the quiet period ``[start, end)`` in the user's time zone; a period
    crossing midnight (22:00-07:00) works; no start or end → never quiet."""
    if start is None or end is None or start == end:
        return False
    local = now.astimezone(zone(tz)).time().replace(tzinfo=None)
    if start < end:
        return start <= local < end
    return local >= start or local < end


def parse_clock(text: str | None) -> time | None:
    """``"22:00"`` → ``time(22, 0)``; empty → None; anything else raises ``ValueError``."""
    if text is None or not str(text).strip():
        return None
    try:
        hours, minutes = (int(x) for x in str(text).strip().split(":"))
        return time(hours, minutes)
    except (TypeError, ValueError):
        raise ValueError(f"a time of day must look like 22:00, got {text!r}") from None


def local_time_text(when: datetime, tz: str | None) -> str:
    """``"2026-12-04 21:05 Europe/London"``: a time in the reader's own zone, zone named."""
    local = when.astimezone(zone(tz))
    return f"{local:%Y-%m-%d %H:%M} {tz or 'UTC'}"
