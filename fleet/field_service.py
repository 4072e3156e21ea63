"""What a technician does on a job, sent from the field app: through the life cycle, each action once.

A phone may send an action several times (no answer came back over a weak signal) and hours after
it was taken (no signal at all). Every action therefore carries an id the phone made
(``client_action_id``); :func:`take_action` records it in ``field_action`` (unique), so a resend
finds the first arrival's row and gets its outcome back, applied nothing twice, in whichever
process it lands. Work-order steps go through :func:`fleet.lifecycle.apply`, the one place that
says which step is legal; a step it refuses because the order changed meanwhile (the engineer gave
the job to someone else, cancelled it, ...) is recorded as a ``conflict`` with the reason, for the
phone to show: nothing the technician did is lost silently.

Photos are stored as files under ``<var>/photos/<order id>/`` (re-encoded as JPEG, which drops
the phone's EXIF block and its GPS position) and referenced by a ``work_order_photo`` row.
"""
from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from . import lifecycle
from .db import transaction
from .lifecycle import Actor, Completion, PartUse
from .models import FieldAction, Part, PmWorkOrder, Technician, User, WorkOrder, WorkOrderFinding, WorkOrderPhoto, utcnow
from .notify import Notifier
from .queries import active_order_counts, work_order_view
from .workorders import DomainError

log = logging.getLogger(__name__)

#: Steps of the life cycle a technician takes, plus the two things that are not steps.
ORDER_ACTIONS = ("accept", "decline", "start", "hold", "resume", "complete")
FIELD_ACTIONS = (*ORDER_ACTIONS, "photo", "acknowledge_alarm")
PAST_TENSE = {"accept": "accepted", "decline": "declined", "start": "started", "hold": "put on hold",
              "resume": "resumed", "complete": "completed", "photo": "photo added",
              "acknowledge_alarm": "alarm acknowledged"}
#: Life-cycle statuses stored under another name on the row.
LIFE_TO_ROW = {lifecycle.COMPLETED: "done"}
#: Longest side of a stored photo, pixels; largest photo accepted, bytes.
PHOTO_MAX_SIDE_PX = 1600
PHOTO_MAX_BYTES = 900 * 1024
#: How far in the past a phone's clock may date an action (older: the server's time is used).
MAX_OFFLINE_AGE = timedelta(days=14)


class BadFieldInput(DomainError):
    """The action itself is malformed (unknown codes, a bad photo): answered 400, not recorded,
    so the technician can correct it and send it again."""

    def __init__(self, message: str, field_name: str | None = None):
        super().__init__(message)
        self.field = field_name


class OrderNotVisible(LookupError):
    """No such work order among the caller's tenants."""


@dataclass(frozen=True)
class FieldRequest:
    """One action as the phone sent it (already parsed; see :mod:`app.tech.api`)."""

    client_action_id: str
    order_id: int
    action: str
    taken_at: datetime | None = None
    reason: str = ""
    completion: Completion | None = None
    photo: bytes | None = None
    caption: str = ""
    alarm_id: int | None = None


@dataclass
class FieldOutcome:
    """What became of an action: ``applied`` or ``conflict`` (with the reason), ``duplicate`` when
    this was a resend of an action already received."""

    client_action_id: str
    outcome: str
    message: str
    status: str
    duplicate: bool = False
    order: dict | None = None
    detail: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"client_action_id": self.client_action_id, "outcome": self.outcome, "message": self.message,
                "status": self.status, "duplicate": self.duplicate, "order": self.order, **self.detail}


def _recorded(row: FieldAction) -> FieldOutcome:
    return FieldOutcome(row.client_action_id, row.outcome, row.message, row.status_after, duplicate=True,
                        detail=dict(row.detail or {}))


def earlier_outcome(session_factory: sessionmaker, client_action_id: str) -> FieldOutcome | None:
    """The outcome of an action already received under ``client_action_id``, if any."""
    with session_factory() as session:
        row = session.scalar(select(FieldAction).where(FieldAction.client_action_id == client_action_id))
        return _recorded(row) if row is not None else None


def _when(taken_at: datetime | None, now: datetime) -> datetime:
    """The phone's time of the action, unless it is in the future or implausibly old."""
    if taken_at is None or taken_at > now or taken_at < now - MAX_OFFLINE_AGE:
        return now
    return taken_at


def take_action(session_factory: sessionmaker, notifier: Notifier, var_dir: Path, user_id: int,
                visible_tenant_ids, request: FieldRequest, now: datetime | None = None) -> FieldOutcome:
    """Apply one field action once; see the module docstring.

    Raises
    ------
    OrderNotVisible
        The order is not among ``visible_tenant_ids`` (404).
    BadFieldInput
        Malformed codes, parts or photo (400); nothing is recorded.
    """
    from .work_order_service import _clear_order_alarms, change_events, publish, refresh_machine_status

    if request.action not in FIELD_ACTIONS:
        raise BadFieldInput(f"action must be one of {', '.join(FIELD_ACTIONS)}; got {request.action!r}", "action")
    earlier = earlier_outcome(session_factory, request.client_action_id)
    if earlier is not None:
        return earlier
    now = now or utcnow()
    at = _when(request.taken_at, now)
    tenants = [int(t) for t in visible_tenant_ids]
    photo_path: Path | None = None
    events: list = []
    with transaction(session_factory) as session:
        order = session.scalar(select(WorkOrder).where(WorkOrder.id == request.order_id,
                                                       WorkOrder.tenant_id.in_(tenants)))
        if order is None:
            raise OrderNotVisible(f"work order {request.order_id} does not exist or is not visible to you")
        user = session.get(User, user_id)
        technician = session.scalar(select(Technician).where(Technician.user_id == user_id))
        actor = Actor(name=user.email, role=user.role, technician_id=technician.id if technician else None)
        outcome, message, detail = "applied", "", {}
        try:
            if request.action in ORDER_ACTIONS:
                message = _order_step(session, order, request, actor, at)
                if not order.is_active:
                    events_alarms = _clear_order_alarms(session, order, actor.name, now)
                else:
                    events_alarms = []
                refresh_machine_status(session, order.machine, now)
                open_count = active_order_counts(session, [order.machine_id]).get(order.machine_id, 0)
                from .alarm_service import take_events
                from .work_order_service import OrderChange

                events = change_events(order.machine, [OrderChange(order, PAST_TENSE[request.action])], open_count,
                                       actor=actor.name) + take_events(events_alarms)
                if request.action == "decline":  # the job left this technician (back to dispatch)
                    from .events import WorkOrderReassigned

                    events.append(WorkOrderReassigned(
                        tenant_ids=tuple(order.machine.tenant.audience()), order=work_order_view(order),
                        from_technician_id=actor.technician_id, to_technician_id=None, actor=actor.name,
                        reason=request.reason))
            elif request.action == "photo":
                _require_own(order, actor, "add photos to")
                photo_path, detail = _store_photo(session, Path(var_dir), order, request, actor, at)
                message = "photo stored"
            else:
                _require_own(order, actor, "acknowledge alarms of")
                events, message, detail = _acknowledge(session, order, request, actor, user_id, now)
        except BadFieldInput:
            raise
        except DomainError as refused:  # the order moved on while the phone was away: a conflict
            session.rollback()
            outcome, message, events = "conflict", str(refused), []
            if photo_path is not None:
                photo_path.unlink(missing_ok=True)
        status = order.status
        session.add(FieldAction(client_action_id=request.client_action_id, work_order_id=request.order_id,
                                user_id=user_id, action=request.action, outcome=outcome, message=message[:500],
                                status_after=status, taken_at=at, received_at=now, detail=detail))
        try:
            session.flush()
        except IntegrityError:  # the same action arrived twice at once; the other arrival won
            session.rollback()
            if photo_path is not None and outcome == "applied":
                pass  # same id, same file name: the winner's file is this file
            earlier = earlier_outcome(session_factory, request.client_action_id)
            if earlier is None:
                raise
            return earlier
        view = work_order_view(order)
    publish(notifier, events)
    return FieldOutcome(request.client_action_id, outcome, message, status, order=view, detail=detail)


def _require_own(order: WorkOrder, actor: Actor, what: str) -> None:
    if actor.technician_id is None or order.technician_id != actor.technician_id:
        raise DomainError(f"{order.number} is no longer assigned to you, so you cannot {what} it")


def _order_step(session, order: WorkOrder, request: FieldRequest, actor: Actor, at: datetime) -> str:
    """Run one life-cycle step on ``order`` and write the result back to the row."""
    life = lifecycle.from_row(order)
    completion = request.completion
    catalogue = None
    if request.action == "complete":
        if completion is None:
            raise BadFieldInput("complete needs problem, cause and remedy codes", "problem_code")
        catalogue = session.scalars(select(Part.part_number).where(Part.machine_model == order.machine.model)).all()
        try:  # malformed findings are the phone's to fix (400); a changed order is a conflict (409)
            lifecycle.validate_completion(completion, order.fault_mode, catalogue or None)
        except DomainError as bad:
            raise BadFieldInput(str(bad)) from None
    if request.action in ("accept", "decline", "start", "hold", "resume", "complete") and (
            actor.technician_id is None or order.technician_id != actor.technician_id):
        who = order.technician.name if order.technician is not None else "nobody"
        raise DomainError(f"{order.number} was reassigned meanwhile (now: {who}); your {request.action} was not applied")
    try:
        after = lifecycle.apply(life, request.action, actor, at, reason=request.reason, completion=completion,
                                catalogue=catalogue or None)
    except lifecycle.IllegalTransition:
        raise
    except DomainError as bad:  # a missing reason or hold kind: the phone's to fix
        raise BadFieldInput(str(bad), "reason") from None
    step = after.history[-1]
    order.status = LIFE_TO_ROW.get(after.status, after.status)
    order.technician_id = after.technician_id
    order.history = [*(order.history or []), step.to_dict()]
    order.updated_at = at
    if request.action == "start" and order.started_at is None:
        order.started_at = at
    elif request.action == "decline":
        order.proposed_technician_id, order.assigned_at = None, None
    elif request.action == "complete":
        order.completed_at = at
        order.resolution = completion.notes
        order.parts = [{"part_number": p.part_number, "quantity": p.quantity} for p in completion.parts_used]
        session.merge(WorkOrderFinding(
            work_order_id=order.id, problem_code=completion.problem_code, cause_code=completion.cause_code,
            remedy_code=completion.remedy_code, fault_confirmed=completion.fault_confirmed,
            found_fault_mode=completion.found_fault_mode, component_replaced=completion.component_replaced,
            labour_h=completion.labour_h, notes=completion.notes, recorded_by=actor.name, recorded_at=at))
        if session.scalar(select(PmWorkOrder).where(PmWorkOrder.work_order_id == order.id)) is not None:
            from .preventive_service import record_service_done

            record_service_done(session, order, order.machine.hours or 0.0, at)
    session.flush()
    return f"{order.number} {PAST_TENSE[request.action]}"


def _store_photo(session, var_dir: Path, order: WorkOrder, request: FieldRequest, actor: Actor,
                 at: datetime) -> tuple[Path, dict]:
    """Check, shrink and re-encode the photo, write it under ``var_dir/photos``, add its row."""
    width, height, jpeg = normalise_photo(request.photo or b"")
    relative = f"{order.id}/{request.client_action_id}.jpg"
    path = var_dir / "photos" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_bytes(jpeg)
    partial.replace(path)  # whole or not at all
    row = WorkOrderPhoto(work_order_id=order.id, client_action_id=request.client_action_id, relative_path=relative,
                         content_type="image/jpeg", size_bytes=len(jpeg), width_px=width, height_px=height,
                         caption=request.caption[:200], taken_by=actor.name, created_at=at)
    session.add(row)
    session.flush()
    return path, {"photo_id": row.id}


def normalise_photo(data: bytes, max_side_px: int = PHOTO_MAX_SIDE_PX) -> tuple[int, int, bytes]:
    """``(width, height, jpeg bytes)`` of an uploaded picture, at most ``max_side_px`` on its long
    side, turned upright by its EXIF orientation and without EXIF. Raises :class:`BadFieldInput`
    for an empty, oversized or undecodable file."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not data:
        raise BadFieldInput("photo is empty", "photo")
    if len(data) > PHOTO_MAX_BYTES:
        raise BadFieldInput(f"photo is {len(data)} bytes; at most {PHOTO_MAX_BYTES} (the app shrinks photos first)",
                            "photo")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in ("JPEG", "PNG", "WEBP"):
                raise BadFieldInput(f"photo must be JPEG, PNG or WebP, got {image.format}", "photo")
            if image.width * image.height > 40_000_000:
                raise BadFieldInput("photo has too many pixels", "photo")
            image = ImageOps.exif_transpose(image).convert("RGB")
            image.thumbnail((max_side_px, max_side_px))
            out = io.BytesIO()
            image.save(out, "JPEG", quality=85)
            return image.width, image.height, out.getvalue()
    except BadFieldInput:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise BadFieldInput("photo is not a picture this server can read", "photo") from None


def _acknowledge(session, order: WorkOrder, request: FieldRequest, actor: Actor, user_id: int, now: datetime):
    """Acknowledge an active alarm of the order's machine (the technician on site has seen it)."""
    from .alarm_service import status_events, take_events
    from .alarms import InvalidAlarmTransition
    from .models import Alarm
    from .queries import alarm_view

    alarm = session.get(Alarm, request.alarm_id) if request.alarm_id is not None else None
    if alarm is None or alarm.machine_id != order.machine_id:
        raise BadFieldInput(f"alarm {request.alarm_id} is not an alarm of {order.machine.uid}", "alarm_id")
    try:
        alarm.acknowledge(actor.name, user_id, request.reason, when=now)
    except InvalidAlarmTransition as gone:
        raise DomainError(f"{alarm.number} could not be acknowledged: {gone}") from None
    session.flush()
    events = take_events([alarm]) + status_events(session, alarm.machine, now)
    return events, f"{alarm.number} acknowledged", {"alarm": alarm_view(alarm)["state"]}


def photo_file(session_factory: sessionmaker, var_dir: Path, photo_id: int, visible_tenant_ids) -> Path | None:
    """The stored file of a visible photo, or None."""
    with session_factory() as session:
        row = session.get(WorkOrderPhoto, photo_id)
        if row is None:
            return None
        order = session.get(WorkOrder, row.work_order_id)
        if order is None or order.tenant_id not in {int(t) for t in visible_tenant_ids}:
            return None
        path = Path(var_dir) / "photos" / row.relative_path
    return path if path.is_file() else None
