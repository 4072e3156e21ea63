"""Each visit's explanation on small hand-made weeks whose answers are known: who is nearest and by how
many km, which day and why it could not be earlier, what bundling saved (fleet.dispatch.explain)."""
from __future__ import annotations

from datetime import date, timedelta

from fleet import dispatch
from fleet.dispatch import Job, Lock, Settings, Technician

MONDAY = date(2026, 12, 7)
SITE = dict(site="pit", site_name="Holloway Top Pit", lat=53.80, lon=-1.55)
# Homes due north of the site: about 10 km and 20 km away; a hydraulics technician next door.
NEAR = Technician(1, "Nia Patel", frozenset({"engine"}), "Harrogate", 53.89, -1.55)
MID = Technician(2, "Omar Reyes", frozenset({"engine"}), "Ripon", 53.98, -1.55)
NEXT_DOOR = Technician(3, "Lee Dunn", frozenset({"hydraulics"}), "Leeds", 53.801, -1.55)
TEAM = [NEAR, MID, NEXT_DOOR]


def road_km(tech: Technician) -> float:
    """Home to the site on roads (km)."""
    return dispatch.haversine_km(tech.home_lat, tech.home_lon, SITE["lat"], SITE["lon"]) * dispatch.ROAD_FACTOR


def job(job_id: int, hours: float = 2.0, due: date = MONDAY + timedelta(days=2), priority: str = "medium") -> Job:
    return Job(job_id, **SITE, skills=frozenset({"engine"}), duration_h=hours, priority=priority, due=due)


def test_the_nearest_qualified_technician_is_chosen_and_the_sentence_gives_the_km():
    result = dispatch.plan([job(1)], TEAM, Settings(start=MONDAY))
    (visit,) = result.assignments
    assert (visit.technician_name, visit.day) == ("Nia Patel", MONDAY)
    # The stop is a round trip from home: 2 × ~13 km for Nia, 2 × ~26 km for Omar (Lee, next door, has no engine skill).
    near, extra = 2 * road_km(NEAR), 2 * (road_km(MID) - road_km(NEAR))
    assert f"nearest of the 2 with the engine skill that day, the stop adds {near:.0f} km (Omar Reyes: {extra:.0f} km more)" \
        in visit.reason
    assert f"{road_km(NEAR):.0f} km from home (Harrogate)" in visit.reason
    assert "Mon 07 Dec: due Wed 09 Dec, medium priority: on time" in visit.reason
    assert f"week {result.booked_h[NEAR.id]:.1f} of 45 h booked" in visit.reason
    assert visit.reason_kinds == ("nearest qualified", "on time")


def test_a_job_late_because_every_qualified_technician_is_full_says_so():
    # Three 8-h jobs due Monday, two engine technicians: Monday holds two; the third is a day late.
    result = dispatch.plan([job(1, 8.0, MONDAY), job(2, 8.0, MONDAY), job(3, 8.0, MONDAY)], TEAM, Settings(start=MONDAY))
    on_monday = [a for a in result.assignments if a.day == MONDAY]
    (late,) = [a for a in result.assignments if a.late_days]
    assert len(on_monday) == 2 and late.day == MONDAY + timedelta(days=1) and late.late_days == 1
    assert "due Mon 07 Dec, medium priority: 1 day late; every qualified technician is full on Mon." in late.reason
    assert late.reason_kinds[1] == "late: earlier days full"
    assert all("on time" in a.reason_kinds for a in on_monday)


def test_a_nearer_technician_with_no_room_that_day_is_named():
    # Nia has accepted an 8-h job elsewhere on Monday: the job due Monday goes to Omar, further away.
    elsewhere = Job(9, "depot", "Harrogate depot", 53.891, -1.55, frozenset({"engine"}), 8.0, "low", MONDAY + timedelta(days=4))
    accepted = Lock(9, NEAR.id, MONDAY, committed=True)
    result = dispatch.plan([job(1, 2.0, MONDAY), elsewhere], TEAM, Settings(start=MONDAY), [accepted])
    visit = result.for_job(1)
    assert (visit.technician_name, visit.day) == ("Omar Reyes", MONDAY)
    assert f"one of the 2 with the engine skill, the stop adds {2 * road_km(MID):.0f} km; Nia Patel is nearer but has " \
           f"no room on Mon" in visit.reason
    assert visit.reason_kinds == ("nearer ones full", "on time")
    kept = result.for_job(9)
    assert "Nia Patel: accepted by the technician, kept where it is" in kept.reason
    assert "the day the technician accepted it for" in kept.reason


def test_a_job_overdue_before_the_week_says_so():
    friday_before = MONDAY - timedelta(days=3)
    result = dispatch.plan([job(1, 2.0, friday_before, "high")], [NEAR], Settings(start=MONDAY))
    (visit,) = result.assignments
    assert visit.day == MONDAY and visit.late_days == 3
    assert ("due Fri 04 Dec, high priority: 3 days late; overdue before the week began, and this is its first "
            "possible day in the week") in visit.reason
    assert visit.reason_kinds == ("only qualified", "late: overdue before the week")


def test_a_job_that_may_not_start_before_its_due_date_says_so():
    wednesday = MONDAY + timedelta(days=2)
    late_window = Job(1, **SITE, skills=frozenset({"engine"}), duration_h=2.0, priority="low", due=MONDAY,
                      earliest=wednesday)
    (visit,) = dispatch.plan([late_window], [NEAR], Settings(start=MONDAY)).assignments
    assert visit.day == wednesday and "2 days late; it may not be done before Wed 09 Dec" in visit.reason


def test_a_bundle_says_how_much_driving_one_stop_saves():
    result = dispatch.plan([job(1), job(2, 3.0)], [NEAR], Settings(start=MONDAY))
    (visit,) = result.assignments
    # one round trip for both jobs: the ~26-km detour is driven once instead of twice
    assert visit.job_ids == (1, 2)
    assert visit.reason.startswith(f"2 jobs at Holloway Top Pit in one stop (its {2 * road_km(NEAR):.0f}-km detour "
                                   f"driven once, not twice), Mon 07 Dec")
    assert "bundled" in visit.reason_kinds
    assert result.travel_km == round(2 * road_km(NEAR), 1)


def test_the_first_pass_place_is_told_with_what_the_move_changed_and_only_then():
    # Two 7-h jobs, one technician: the first pass places the high job first (Monday), then the low
    # job due Monday finds Monday full and goes to Tuesday, a day late; the improvement pass swaps them
    # (the high job is due Friday). The low job's sentence says where the first pass had it and that it
    # is now on time; the high job, moved too, is as near and on time in both places: nothing to add.
    low = Job(5, **SITE, skills=frozenset({"engine"}), duration_h=7.0, priority="low", due=MONDAY)
    high = job(1, 7.0, MONDAY + timedelta(days=4), "high")
    result = dispatch.plan([high, low], [NEAR], Settings(start=MONDAY, bundling=False))
    moved_low, moved_high = result.for_job(5), result.for_job(1)
    assert (moved_low.day, moved_high.day) == (MONDAY, MONDAY + timedelta(days=1)) and result.late_jobs == 0
    assert moved_low.placed_by == moved_high.placed_by == "improvement pass"
    assert "the first pass had it Tue; moved: on time" in moved_low.reason and "moved" in moved_low.reason_kinds
    assert "first pass" not in moved_high.reason and "moved" not in moved_high.reason_kinds
