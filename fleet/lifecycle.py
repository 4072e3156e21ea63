"""The full work-order life cycle as a pure state machine, and the repair's finding codes.

::

    open ──assign──► assigned ──accept──► accepted ──start──► in_progress ──complete──► completed ──close──► closed
     ▲                 │  ▲                  │   │               │    ▲                     │
     └────decline──────┘  └──reassign────────┴───┴───────────────┤  resume                reopen (review
     └──────────────── unassign (assigned, accepted) ────────────┘  hold                  rejected) ─► in_progress
                                              accepted/in_progress ─hold─► on_hold ─resume─► where it was held
    complete_on_behalf (an engineer, for the assigned technician): assigned, accepted, in progress or on hold ─► completed
    cancel: from every state before completed.

Every step is a :class:`Transition` (from, to, action, who, when, why) appended to the order's
history; a step the table does not allow raises :class:`IllegalTransition` with the actions that
*are* allowed, a step the actor may not take :class:`NotPermitted`. A decline needs a reason and
sends the order back to ``open`` (so back to dispatch), remembering who declined so the planner
proposes somebody else. A reassignment (to another technician, who must accept it) needs a
reason; :func:`technician_change` says whose job it was and whose it is now, so the service can
tell the one who lost it. Completion needs structured findings (:class:`Completion`): problem /
cause / remedy codes from the fault mode's code list (:data:`CODE_LISTS`), whether the predicted
fault was confirmed, parts used and labour time. Changes that are not steps (a dedup update from new
evidence, an escalation, the opening itself) are :func:`record_update` entries.

How it plugs in: :mod:`fleet.order_actions` is the one service that changes a work order's state:
it loads an :class:`OrderLife` from the row (:func:`from_row`), calls :func:`apply`, and writes
status, technician, timestamps and the history entry back, storing a completion in
``work_order_finding``. ``completed`` is the row's ``done`` (:data:`LIFE_TO_ROW`).
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

#: Orders that still need someone (dedup, load and the board's "active" count them).
ACTIVE = (OPEN, ASSIGNED, ACCEPTED, IN_PROGRESS, ON_HOLD)

#: action → {from status: to status}
TRANSITIONS: dict[str, dict[str, str]] = {
    "assign": {OPEN: ASSIGNED},
    # to another technician (who accepts it afresh), also taken from someone who started or paused it
    "reassign": {ASSIGNED: ASSIGNED, ACCEPTED: ASSIGNED, IN_PROGRESS: ASSIGNED, ON_HOLD: ASSIGNED},
    "accept": {ASSIGNED: ACCEPTED},
    "decline": {ASSIGNED: OPEN},
    "unassign": {ASSIGNED: OPEN, ACCEPTED: OPEN},
    "start": {ACCEPTED: IN_PROGRESS},
    "hold": {ACCEPTED: ON_HOLD, IN_PROGRESS: ON_HOLD},
    "resume": {ON_HOLD: IN_PROGRESS},  # or back to accepted when it was held before the start
    "complete": {IN_PROGRESS: COMPLETED},
    "complete_on_behalf": {s: COMPLETED for s in (ASSIGNED, ACCEPTED, IN_PROGRESS, ON_HOLD)},
    "reopen": {COMPLETED: IN_PROGRESS},
    "close": {COMPLETED: CLOSED},
    "cancel": {s: CANCELLED for s in ACTIVE},
}
#: Actions only the assigned technician may take.
TECHNICIAN_ACTIONS = ("accept", "decline", "start", "complete")
#: Actions the assigned technician or a service engineer may take.
SHARED_ACTIONS = ("hold", "resume")
#: Actions only a service engineer (or admin, or the rules and the dispatch planner) may take.
ENGINEER_ACTIONS = ("assign", "reassign", "unassign", "complete_on_behalf", "reopen", "close", "cancel")
ENGINEER_ROLES = ("engineer", "admin")
#: Actions that need a reason (``hold``'s starts with one of :data:`HOLD_REASONS`).
REASON_REQUIRED = ("reassign", "decline", "unassign", "hold", "reopen", "cancel")
#: The step's name in the past tense (``WorkOrderChanged.change``, messages).
PAST_TENSE = {"assign": "assigned", "reassign": "reassigned", "accept": "accepted", "decline": "declined",
              "unassign": "unassigned", "start": "started", "hold": "put on hold", "resume": "resumed",
              "complete": "completed", "complete_on_behalf": "completed", "reopen": "reopened",
              "close": "closed", "cancel": "cancelled"}
#: Life-cycle statuses stored under another name on the ``work_order`` row, and back.
LIFE_TO_ROW = {COMPLETED: "done"}
ROW_TO_LIFE = {row: life for life, row in LIFE_TO_ROW.items()}


class NotPermitted(DomainError):
    """The actor may not take this step on this order (a technician on another's job, a technician
    closing an order, ...)."""


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


def actions_for(status: str, role: str) -> tuple[str, ...]:
    """The legal actions from ``status`` that a ``role`` may take without being the assigned
    technician (what the engineers' board offers): engineer and shared actions for staff."""
    if role not in ENGINEER_ROLES:
        return ()
    return tuple(a for a in allowed_actions(status) if a in ENGINEER_ACTIONS or a in SHARED_ACTIONS)


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


#: "Fault confirmed?" as the history says it.
_CONFIRMED_WORDS = {"yes": "fault confirmed", "no": "fault not confirmed", "other": "another fault found"}


def completion_words(completion: "Completion", fault_mode: str) -> str:
    """The findings in words for the order's history: ``bearing outer race spalled / lubrication
    (...) / bearing replaced; fault confirmed`` (the codes' labels, from the order's fault mode's
    list and, for "another fault found", the found fault's)."""
    lists = [code_list(fault_mode)] + ([code_list(completion.found_fault_mode)] if completion.found_fault_mode else [])

    def words(field: str, code: str) -> str:
        return next((getattr(c, field)[code] for c in lists if code in getattr(c, field)), code)

    return (f"{words('problems', completion.problem_code)} / {words('causes', completion.cause_code)} / "
            f"{words('remedies', completion.remedy_code)}; "
            f"{_CONFIRMED_WORDS.get(completion.fault_confirmed, completion.fault_confirmed)}")


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
    held_from: str = ""  # the status a hold came from (resume goes back there)
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

    ``assign`` and ``reassign`` need ``technician_id``; the actions of :data:`REASON_REQUIRED` need
    a ``reason`` (``hold``: one of :data:`HOLD_REASONS`, optionally followed by ``": details"``);
    ``complete`` and ``complete_on_behalf`` need a ``completion``. Raises
    :class:`IllegalTransition` for a step the table forbids, :class:`NotPermitted` for an actor
    without the right and ``DomainError`` for a missing or wrong argument.
    """
    if action not in TRANSITIONS:
        raise DomainError(f"unknown action {action!r}; actions: {', '.join(TRANSITIONS)}")
    moves = TRANSITIONS[action]
    if life.status not in moves:
        raise IllegalTransition(action, life.status)
    _check_actor(life, action, actor)
    reason = (reason or "").strip()
    if action in REASON_REQUIRED and not reason:
        raise DomainError(f"a reason is required to {action.replace('_', ' ')} a work order")
    changes: dict = {"status": moves[life.status]}
    why = reason
    if action in ("assign", "reassign"):
        if technician_id is None:
            raise DomainError(f"technician_id is required to {action} a work order")
        if technician_id in life.declined_by:
            raise DomainError(f"technician {technician_id} declined this order; assign someone else")
        if action == "reassign" and technician_id == life.technician_id:
            raise DomainError(f"technician {technician_id} already has this order; choose another technician")
        changes["technician_id"] = technician_id
        why = reason or f"assigned to technician {technician_id}"
    elif action == "decline":
        changes.update(technician_id=None, declined_by=life.declined_by | {life.technician_id})
    elif action == "unassign":
        changes["technician_id"] = None
    elif action == "hold":
        kind = reason.split(":", 1)[0].strip()
        if kind not in HOLD_REASONS:
            raise DomainError(f"hold reason must start with one of {', '.join(HOLD_REASONS)}, got {reason!r}")
        changes.update(hold_reason=reason, held_from=life.status)
    elif action == "resume":
        changes.update(status=life.held_from if life.held_from == ACCEPTED else IN_PROGRESS, hold_reason="",
                       held_from="")
    elif action in ("complete", "complete_on_behalf"):
        if completion is None:
            raise DomainError("findings (problem, cause, remedy codes) are required to complete a work order")
        if action == "complete_on_behalf" and life.technician_id is None:
            raise DomainError("nobody is assigned: assign the technician who did the job, then complete it")
        changes.update(completion=validate_completion(completion, life.fault_mode, catalogue), hold_reason="",
                       held_from="")
        why = completion_words(completion, life.fault_mode)
        if action == "complete_on_behalf":
            why = f"on behalf of technician {life.technician_id}: {why}" + (f"; {reason}" if reason else "")
    elif action == "reopen":
        changes["completion"] = None
    if action in ("reassign", "cancel"):
        changes.update(hold_reason="", held_from="")
    if action == "reassign":
        concerned = technician_id
    elif action in ("assign", "decline", "complete_on_behalf"):
        concerned = technician_id if action == "assign" else life.technician_id
    else:
        concerned = None
    step = Transition(action, life.status, changes["status"], actor.name, at, why, concerned)
    return replace(life, **changes, history=(*life.history, step))


def _check_actor(life: OrderLife, action: str, actor: Actor) -> None:
    own = actor.technician_id is not None and actor.technician_id == life.technician_id
    staff = actor.role in ENGINEER_ROLES or actor.role == "rules"
    if action in TECHNICIAN_ACTIONS and not own:
        raise NotPermitted(f"only the assigned technician may {action} this work order")
    if action in SHARED_ACTIONS and not (own or staff):
        raise NotPermitted(f"only the assigned technician or a service engineer may {action} this work order")
    if action in ENGINEER_ACTIONS and not staff:
        raise NotPermitted(f"only a service engineer may {action.replace('_', ' ')} a work order")


def technician_change(before: OrderLife, after: OrderLife) -> tuple[int | None, int | None] | None:
    """``(from technician, to technician)`` when the step moved the order to someone else (or to
    nobody), else None: the service records a reassignment event for it."""
    if before.technician_id == after.technician_id or before.technician_id is None:
        return None
    return before.technician_id, after.technician_id


def record_update(life: OrderLife, actor: Actor, at: datetime, why: str, action: str = "update") -> OrderLife:
    """A history entry that changes no status, e.g. a dedup update ("new evidence from burst X
    raised priority to high") or an escalation (``action="escalate"``)."""
    if not (why or "").strip():
        raise DomainError("an update needs a note saying what changed")
    return replace(life, history=(*life.history, Transition(action, life.status, life.status, actor.name, at,
                                                            why.strip())))


def from_row(order) -> OrderLife:
    """An :class:`OrderLife` from a ``WorkOrder`` row (declines and the current hold are read back
    from its history)."""
    history = order.history or []
    declined = frozenset(e["declined_technician_id"] for e in history if "declined_technician_id" in e)
    status = ROW_TO_LIFE.get(order.status, order.status)
    hold_reason = held_from = ""
    if status == ON_HOLD:
        holds = [e for e in history if e.get("action") == "hold" or e.get("to") == ON_HOLD]
        if holds:
            hold_reason, held_from = holds[-1].get("note") or "", holds[-1].get("from") or IN_PROGRESS
    return OrderLife(id=order.id, status=status, fault_mode=order.fault_mode, technician_id=order.technician_id,
                     declined_by=declined, hold_reason=hold_reason, held_from=held_from)


__all__ = ["OrderLife", "Actor", "Transition", "Completion", "PartUse", "CodeList", "IllegalTransition", "NotPermitted",
           "apply", "allowed_actions", "actions_for", "technician_change", "code_list", "other_fault_modes", "validate_completion",
           "record_update", "from_row", "STATUSES", "ACTIVE", "TRANSITIONS", "CODE_LISTS", "HOLD_REASONS",
           "FAULT_CONFIRMED", "DISPATCHABLE", "PAST_TENSE", "LIFE_TO_ROW"]
