"""Issue 20, defect 1: a background thread that dies is restarted with doubling back-off, and the
supervisor reports it."""
import threading

from telemetry.supervisor import Supervisor


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class Crashy:
    """A worker whose thread ends as soon as it starts, ``crashes`` times, then runs."""

    def __init__(self, crashes):
        self.crashes = crashes
        self.starts = 0
        self.thread = None
        self.release = threading.Event()

    def start(self):
        self.starts += 1
        crash = self.starts <= self.crashes
        self.thread = threading.Thread(target=(lambda: None) if crash else self.release.wait, daemon=True)
        self.thread.start()
        if crash:
            self.thread.join()

    def alive(self):
        return self.thread is not None and self.thread.is_alive()


def test_dead_thread_is_restarted_with_doubling_backoff():
    clock = Clock()
    worker = Crashy(crashes=3)
    worker.start()  # dies at once
    supervisor = Supervisor(initial_backoff_s=1.0, max_backoff_s=4.0, healthy_after_s=10.0, clock=clock)
    supervisor.watch("worker", worker.alive, worker.start, lambda: "boom")
    restarts_at = []
    for _ in range(200):
        if supervisor.check():
            restarts_at.append(clock.now)
        clock.now += 0.25
    assert worker.alive() and worker.starts == 4
    gaps = [b - a for a, b in zip(restarts_at, restarts_at[1:])]
    assert restarts_at[0] - 100.0 >= 1.0 and gaps[0] >= 2.0 and gaps[1] >= 4.0  # 1 s, 2 s, 4 s (cap)
    [status] = supervisor.status()
    assert status["alive"] and status["restarts"] == 3 and status["last_error"] == "boom"
    worker.release.set()


def test_a_failing_restart_is_tried_again_and_reported():
    clock = Clock()
    attempts = []

    def restart():
        attempts.append(clock.now)
        raise OSError("no space left on device")

    supervisor = Supervisor(initial_backoff_s=1.0, max_backoff_s=2.0, clock=clock)
    supervisor.watch("writer", lambda: False, restart)
    for _ in range(40):
        supervisor.check()
        clock.now += 0.5
    assert len(attempts) >= 3
    [status] = supervisor.status()
    assert not status["alive"] and "no space left" in status["last_error"]


def test_supervisor_thread_restarts_a_real_thread():
    worker = Crashy(crashes=1)
    worker.start()
    supervisor = Supervisor(check_interval_s=0.02, initial_backoff_s=0.02).start()
    supervisor.watch("worker", worker.alive, worker.start)
    for _ in range(200):
        if worker.alive():
            break
        threading.Event().wait(0.01)
    supervisor.stop()
    assert worker.alive() and supervisor.status()[0]["restarts"] == 1
    worker.release.set()
