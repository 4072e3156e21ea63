"""The full work-order life cycle as a pure state machine, and the repair's finding codes.

::

    open ──assign──► assigned ──accept──► accepted ──start──► in_progress ──complete──► completed ──close──► closed
     ▲                 │  ▲                  │                   │    ▲                     │
     └────decline──────┘  └─reassign         │                 hold  resume              reopen (review
     └────────────────── unassign ───────────┘                   ▼    │                  rejected) ─► in_progress
                                                              on_hold ┘
    cancel: from every state before completed.

Every step is a :class:`Transition` (from, to, action, who, when, why) appended to the order's
history; a step the table does not allow raises :class:`IllegalTransition` with the actions that
*are* allowed. A decline needs a reason and sends the order back to ``open`` (so back to dispatch),
remembering who declined so the planner proposes somebody else. Completion needs structured
findings (:class:`Completion`): problem / cause / remedy codes from the fault mode's code list
(:data:`CODE_LISTS`), whether the predicted fault was confirmed, parts used and labour time.

How it plugs in: :class:`fleet.models.WorkOrder` keeps its ``status`` and ``history`` columns;
``fleet.work_order_service.perform`` would load an :class:`OrderLife` from the row
(:func:`from_row`), call :func:`apply`, and write status, technician and history back, storing a
completion in ``work_order_finding``. ``completed`` is the row's ``done``; the row's status check
constraint gains ``accepted``, ``on_hold`` and ``closed`` in that change.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Iterable, Mapping

from .workorders import DomainError

OPEN, ASSIGNED, ACCEPTED, IN_PROGRESS, ON_HOLD = "open", "assigned", "accepted", "in_progress", "on_hold"
COMPLETED, CLOSED, CANCELLED = "completed", "closed", "cancelled"
STATUSES = (OPEN, ASSIGNED, ACCEPTED, IN_PROGRESS, ON_HOLD, COMPLETED, CLOSED, CANCELLED)
#: Orders the dispatch planner may (re)plan: nobody has accepted them yet.
DISPATCHABLE = (OPEN, ASSIGNED)

HOLD_REASONS = ("parts", "access", "customer")
FAULT_CONFIRMED = ("yes", "no", "other")

#: action → {from status: to status}
TRANSITIONS: dict[str, dict[str, str]] = {
    "assign": {OPEN: ASSIGNED, ASSIGNED: ASSIGNED},  # again on an assigned order = reassign
    "accept": {ASSIGNED: ACCEPTED},
    "decline": {ASSIGNED: OPEN},
    "unassign": {ACCEPTED: OPEN},
    "start": {ACCEPTED: IN_PROGRESS},
    "hold": {IN_PROGRESS: ON_HOLD},
    "resume": {ON_HOLD: IN_PROGRESS},
    "complete": {IN_PROGRESS: COMPLETED},
    "reopen": {COMPLETED: IN_PROGRESS},
    "close": {COMPLETED: CLOSED},
    "cancel": {s: CANCELLED for s in (OPEN, ASSIGNED, ACCEPTED, IN_PROGRESS, ON_HOLD)},
}
#: Actions only the assigned technician may take.
TECHNICIAN_ACTIONS = ("accept", "decline", "start", "hold", "resume", "complete")
#: Actions only a service engineer (or admin) may take.
ENGINEER_ACTIONS = ("assign", "unassign", "reopen", "close", "cancel")
ENGINEER_ROLES = ("engineer", "admin")


class IllegalTransition(DomainError):
    """The action is not allowed from the order's current status."""

    def __init__(self, action: str, status: str):
        self.action, self.status = action, status
        allowed = allowed_actions(status)
        super().__init__(f"cannot {action} a work order that is {status.replace('_', ' ')}; "
                         f"allowed: {', '.join(allowed) if allowed else 'nothing (final state)'}")


def allowed_actions(status: str) -> tuple[str, ...]:
    """The actions that are legal from ``status``, in table order."""
    return tuple(action for action, moves in TRANSITIONS.items() if status in moves)


# --- codes --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CodeList:
    """What a technician may report for one fault mode: ``{code: label}`` for each field."""

    problems: Mapping[str, str]
    causes: Mapping[str, str]
    remedies: Mapping[str, str]


_GENERAL_CAUSES = {"wear": "normal wear (end of life)", "lubrication": "lubrication (lack, wrong or contaminated)",
                   "contamination": "contamination (dirt, water)", "overload": "overload or misuse",
                   "installation": "faulty installation or assembly", "manufacturing": "manufacturing defect",
                   "unknown": "cause not determined"}
_NOTHING = {"no_fault_found": "no fault found"}
_NO_ACTION = {"inspected_no_action": "inspected, no action needed"}


def _bearing(part: str) -> CodeList:
    return CodeList(
        problems={f"{part}_spalled": f"bearing {part.replace('_', ' ')} spalled",
                  f"{part}_pitted": f"bearing {part.replace('_', ' ')} pitted or indented", **_NOTHING},
        causes={**_GENERAL_CAUSES, "electrical_erosion": "electrical erosion (shaft currents)"},
        remedies={"bearing_replaced": "bearing replaced", "relubricated": "relubricated, monitoring",
                  **_NO_ACTION})


CODE_LISTS: dict[str, CodeList] = {
    "bearing_outer_race": _bearing("outer_race"),
    "bearing_inner_race": _bearing("inner_race"),
    "bearing_rolling_element": _bearing("rolling_element"),
    "bearing_cage": _bearing("cage"),
    "gear_wear": CodeList({"tooth_flank_wear": "gear tooth flank wear", "micropitting": "micropitting", **_NOTHING},
                          _GENERAL_CAUSES,
                          {"gear_set_replaced": "gear set replaced", "oil_changed": "oil changed, monitoring",
                           **_NO_ACTION}),
    "gear_broken_tooth": CodeList({"tooth_broken": "gear tooth broken", "tooth_cracked": "gear tooth cracked",
                                   **_NOTHING}, _GENERAL_CAUSES,
                                  {"gear_set_replaced": "gear set replaced", **_NO_ACTION}),
    "unbalance": CodeList({"rotor_unbalance": "rotor out of balance", **_NOTHING},
                          {**_GENERAL_CAUSES, "deposit_buildup": "deposit build-up", "lost_weight": "lost balance weight"},
                          {"rebalanced": "rotor rebalanced", "cleaned": "rotor cleaned", **_NO_ACTION}),
    "misalignment": CodeList({"shaft_misaligned": "shafts misaligned", "soft_foot": "soft foot", **_NOTHING},
                             {**_GENERAL_CAUSES, "foundation_settlement": "foundation settlement"},
                             {"realigned": "shafts realigned", "shimmed": "feet shimmed", **_NO_ACTION}),
    "looseness": CodeList({"mounting_loose": "mounting bolts loose", "cracked_frame": "cracked frame or bracket",
                           **_NOTHING}, _GENERAL_CAUSES,
                          {"retorqued": "bolts re-torqued", "bracket_replaced": "bracket replaced", **_NO_ACTION}),
    "electrical": CodeList({"air_gap_eccentric": "eccentric air gap", "winding_fault": "stator winding fault",
                            "broken_rotor_bar": "broken rotor bar", **_NOTHING}, _GENERAL_CAUSES,
                           {"rewound": "stator rewound", "rotor_replaced": "rotor replaced", **_NO_ACTION}),
    "preventive_maintenance": CodeList({"service_done": "scheduled service carried out",
                                        "defect_found": "defect found during service"},
                                       {"scheduled": "scheduled interval", **_GENERAL_CAUSES},
                                       {"service_completed": "service completed as per task list",
                                        "service_completed_with_repair": "service completed, defect repaired"}),
}
#: Fault modes that say "worse" but not "what" (RUL, trend alarms): any concrete fault's codes apply.
GENERIC_FAULT_MODES = ("low_remaining_life", "vibration_trend")


def other_fault_modes(fault_mode: str) -> tuple[str, ...]:
    """The faults a technician may report as found *instead of* ``fault_mode`` (fault confirmed:
    other): every concrete fault mode with a code list except the predicted one and a PM service."""
    return tuple(mode for mode in CODE_LISTS if mode not in (fault_mode, "preventive_maintenance"))


def code_list(fault_mode: str) -> CodeList:
    """The codes a technician may use on an order of ``fault_mode`` (the union of all concrete
    fault modes' codes for RUL and trend orders)."""
    if fault_mode in CODE_LISTS:
        return CODE_LISTS[fault_mode]
    if fault_mode in GENERIC_FAULT_MODES or not fault_mode:
        lists = [c for mode, c in CODE_LISTS.items() if mode != "preventive_maintenance"]
        return CodeList({k: v for c in lists for k, v in c.problems.items()},
                        {k: v for c in lists for k, v in c.causes.items()},
                        {k: v for c in lists for k, v in c.remedies.items()})
    raise DomainError(f"no code list for fault mode {fault_mode!r}")


# --- the order's state ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Actor:
    """Who asks: a name for the history, a role, and their technician id when they are one."""

    name: str
    role: str  # engineer | admin | technician | rules
    technician_id: int | None = None


@dataclass(frozen=True)
class Transition:
    """One step of an order's story."""

    action: str
    from_status: str
    to_status: str
    by: str
    at: datetime
    why: str = ""
    technician_id: int | None = None  # who was assigned, or who declined

    def to_dict(self) -> dict:
        """The entry as stored in ``work_order.history`` (JSON)."""
        entry = {"at": self.at.isoformat(), "action": self.action, "from": self.from_status, "to": self.to_status,
                 "by": self.by}
        if self.why:
            entry["note"] = self.why
        if self.technician_id is not None:
            key = "declined_technician_id" if self.action == "decline" else "technician_id"
            entry[key] = self.technician_id
        return entry


@dataclass(frozen=True)
class PartUse:
    part_number: str
    quantity: float


@dataclass(frozen=True)
class Completion:
    """The structured findings of a repair."""

    problem_code: str
    cause_code: str
    remedy_code: str
    fault_confirmed: str  # yes | no | other
    found_fault_mode: str = ""  # the fault actually found, when fault_confirmed == "other"
    component_replaced: bool = False
    parts_used: tuple[PartUse, ...] = ()
    labour_h: float = 0.0
    notes: str = ""


@dataclass(frozen=True)
class OrderLife:
    """The part of a work order the life cycle changes."""

    id: int | None
    status: str
    fault_mode: str
    technician_id: int | None = None
    declined_by: frozenset[int] = frozenset()
    hold_reason: str = ""
    completion: Completion | None = None
    history: tuple[Transition, ...] = ()


def validate_completion(completion: Completion, fault_mode: str,
                        catalogue: Iterable[str] | None = None) -> Completion:
    """Check ``completion`` against the code list of the fault that was found (the predicted one
    unless ``fault_confirmed == "other"``) and, when given, the machine model's part numbers."""
    if completion.fault_confirmed not in FAULT_CONFIRMED:
        raise DomainError(f"fault_confirmed must be one of {', '.join(FAULT_CONFIRMED)}, "
                          f"got {completion.fault_confirmed!r}")
    found = fault_mode
    if completion.fault_confirmed == "other":
        if not completion.found_fault_mode:
            raise DomainError("found_fault_mode is required when another fault was found: say which fault")
        if completion.found_fault_mode not in other_fault_modes(fault_mode):
            raise DomainError(f"found_fault_mode {completion.found_fault_mode!r} is not another fault this order "
                              f"can find; allowed: {', '.join(other_fault_modes(fault_mode))}")
        found = completion.found_fault_mode
    elif completion.found_fault_mode:
        raise DomainError(f"found_fault_mode is only for fault_confirmed 'other' (another fault found), "
                          f"not {completion.fault_confirmed!r}")
    codes = code_list(found)
    for label, value, allowed in (("problem_code", completion.problem_code, codes.problems),
                                  ("cause_code", completion.cause_code, codes.causes),
                                  ("remedy_code", completion.remedy_code, codes.remedies)):
        if value not in allowed:
            raise DomainError(f"{label} {value!r} is not in the code list for {found}; "
                              f"allowed: {', '.join(allowed)}")
    if completion.fault_confirmed in ("yes", "other") and completion.problem_code in _NOTHING:
        what = "a confirmed fault" if completion.fault_confirmed == "yes" else "another fault found"
        raise DomainError(f"{what} cannot have the problem code no_fault_found")
    if (completion.fault_confirmed == "no" and any(code in codes.problems for code in _NOTHING)
            and completion.problem_code not in _NOTHING):
        raise DomainError(f"no fault found cannot have the problem code {completion.problem_code!r}; "
                          f"use no_fault_found, or say which fault was found")
    if completion.labour_h < 0:
        raise DomainError("labour_h must not be negative")
    known = set(catalogue) if catalogue is not None else None
    for part in completion.parts_used:
        if part.quantity <= 0:
            raise DomainError(f"part {part.part_number}: quantity must be positive")
        if known is not None and part.part_number not in known:
            raise DomainError(f"part {part.part_number} is not in this machine model's catalogue")
    return completion


def apply(life: OrderLife, action: str, actor: Actor, at: datetime, *, technician_id: int | None = None,
          reason: str = "", completion: Completion | None = None,
          catalogue: Iterable[str] | None = None) -> OrderLife:
    """The order after ``actor`` takes ``action`` at ``at`` (``life`` itself is unchanged).

    ``assign`` needs ``technician_id``; ``decline``, ``hold`` (one of :data:`HOLD_REASONS`, optionally
    followed by ``": details"``), ``reopen`` and ``cancel`` need a ``reason``; ``complete`` needs a
    ``completion``. Raises :class:`IllegalTransition` for a step the table forbids and
    ``DomainError`` for a missing argument or an actor without the right.
    """
    if action not in TRANSITIONS:
        raise DomainError(f"unknown action {action!r}; actions: {', '.join(TRANSITIONS)}")
    moves = TRANSITIONS[action]
    if life.status not in moves:
        raise IllegalTransition(action, life.status)
    _check_actor(life, action, actor)
    reason = (reason or "").strip()
    changes: dict = {"status": moves[life.status]}
    why = reason
    if action == "assign":
        if technician_id is None:
            raise DomainError("technician_id is required to assign a work order")
        if technician_id in life.declined_by:
            raise DomainError(f"technician {technician_id} declined this order; assign someone else")
        changes["technician_id"] = technician_id
        why = reason or f"assigned to technician {technician_id}"
    elif action in ("decline", "cancel", "reopen", "unassign") and not reason:
        raise DomainError(f"a reason is required to {action} a work order")
    if action == "decline":
        changes.update(technician_id=None, declined_by=life.declined_by | {life.technician_id})
    elif action == "unassign":
        changes["technician_id"] = None
    elif action == "hold":
        kind = reason.split(":", 1)[0].strip()
        if kind not in HOLD_REASONS:
            raise DomainError(f"hold reason must start with one of {', '.join(HOLD_REASONS)}, got {reason!r}")
        changes["hold_reason"] = reason
    elif action == "resume":
        changes["hold_reason"] = ""
    elif action == "complete":
        if completion is None:
            raise DomainError("findings (problem, cause, remedy codes) are required to complete a work order")
        changes["completion"] = validate_completion(completion, life.fault_mode, catalogue)
        why = (f"{completion.problem_code} / {completion.cause_code} / {completion.remedy_code}; "
               f"fault confirmed: {completion.fault_confirmed}")
    elif action == "reopen":
        changes["completion"] = None
    concerned = technician_id if action == "assign" else life.technician_id if action == "decline" else None
    step = Transition(action, life.status, changes["status"], actor.name, at, why, concerned)
    return replace(life, **changes, history=(*life.history, step))


def _check_actor(life: OrderLife, action: str, actor: Actor) -> None:
    if action in TECHNICIAN_ACTIONS:
        if actor.technician_id is None or actor.technician_id != life.technician_id:
            raise DomainError(f"only the assigned technician may {action} this work order")
    elif action in ENGINEER_ACTIONS and actor.role not in ENGINEER_ROLES and actor.role != "rules":
        raise DomainError(f"only a service engineer may {action} a work order")


def record_update(life: OrderLife, actor: Actor, at: datetime, why: str) -> OrderLife:
    """A history entry that changes no status, e.g. a dedup update ("new evidence from burst X
    raised priority to high")."""
    return replace(life, history=(*life.history, Transition("update", life.status, life.status, actor.name, at, why)))


# Row statuses of fleet.models.WorkOrder that are named differently here.
_ROW_TO_LIFE = {"done": COMPLETED}


def from_row(order) -> OrderLife:
    """An :class:`OrderLife` from a ``WorkOrder`` row (declines are read back from its history)."""
    declined = frozenset(e["declined_technician_id"] for e in (order.history or []) if "declined_technician_id" in e)
    return OrderLife(id=order.id, status=_ROW_TO_LIFE.get(order.status, order.status), fault_mode=order.fault_mode,
                     technician_id=order.technician_id, declined_by=declined)


__all__ = ["OrderLife", "Actor", "Transition", "Completion", "PartUse", "CodeList", "IllegalTransition", "apply",
           "allowed_actions", "code_list", "other_fault_modes", "validate_completion", "record_update", "from_row", "STATUSES",
           "TRANSITIONS", "CODE_LISTS", "HOLD_REASONS", "FAULT_CONFIRMED", "DISPATCHABLE"]
