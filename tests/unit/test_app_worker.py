"""The diagnosis queue: only bursts are queued, failures are counted and do not stop the drain."""
from dataclasses import dataclass

from app.worker import DiagnosisQueue, DiagnosisWorker


@dataclass
class Event:
    kind: str
    machine: str
    upload_id: str
    burst_id: str | None


def test_only_burst_events_are_queued_in_order():
    seen = []
    diagnosis_queue = DiagnosisQueue(seen.append)
    diagnosis_queue.on_stored([Event("operating", "GS-1", "u1", None), Event("burst", "GS-1", "u2", "b1"),
                               Event("faults", "GS-1", "u3", None), Event("burst", "GS-1", "u4", "b2")])
    assert diagnosis_queue.pending == 2
    assert diagnosis_queue.run_pending() == 2
    assert seen == ["b1", "b2"]
    assert diagnosis_queue.processed == 2 and diagnosis_queue.pending == 0


def test_a_failing_burst_is_counted_and_the_rest_still_run():
    seen = []

    def process(burst_id):
        if burst_id == "bad":
            raise ValueError("corrupt burst")
        seen.append(burst_id)

    diagnosis_queue = DiagnosisQueue(process)
    for burst_id in ("a", "bad", "c"):
        diagnosis_queue.submit(burst_id)
    assert diagnosis_queue.run_pending() == 3
    assert seen == ["a", "c"]
    assert diagnosis_queue.failed == 1 and diagnosis_queue.processed == 2


def test_worker_thread_drains_and_stops():
    import threading

    done = threading.Event()
    diagnosis_queue = DiagnosisQueue(lambda burst_id: done.set())
    worker = DiagnosisWorker(diagnosis_queue, poll_seconds=0.05)
    worker.start()
    diagnosis_queue.submit("b1")
    assert done.wait(10)
    worker.stop()
    assert not worker.is_alive()
