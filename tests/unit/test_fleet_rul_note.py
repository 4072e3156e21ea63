"""The note a component without an RUL number shows: plain, and for a standby set, why it takes weeks."""
from fleet.jobs import STANDBY_HISTORY_NOTE, rul_note

REASON = "too little history: 1 of 3 observations of 12 h needed (0.0 h of data, 1 bursts)"


def test_a_standby_set_s_note_says_why_its_history_is_short():
    note = rul_note(REASON, standby=True)
    assert note.startswith(STANDBY_HISTORY_NOTE) and note.endswith(REASON)
    assert "only while it runs" in note


def test_other_notes_are_kept_as_they_are_and_bounded():
    assert rul_note(REASON, standby=False) == REASON
    assert rul_note("no usable RUL model for component kind x: none", standby=True).startswith("no usable")
    assert rul_note(None, standby=True) is None
    assert len(rul_note("x" * 500, standby=False)) == 240
