"""A gateway stand-in that records what a simulated machine handed it (not a test module): the
upload contract itself is tested in test_sim_gateway and against the real app."""
from __future__ import annotations


class RecordingGateway:
    """Each operating upload as the list of ``(t_ns, fields)`` it carried; faults and bursts ignored."""

    def __init__(self):
        self.online = True
        self.operating: list[list[tuple[int, dict]]] = []

    def send_operating(self, batch):
        self.operating.append(list(batch))

    def send_faults(self, *args):
        pass

    def send_burst(self, *args, **kwargs):
        pass
