"""Order tracking: a speed-locked line stays one order while the speed ramps."""
import numpy as np
import pytest

from diagnostics.order import order_spectrum, shaft_angle_rev
from diagnostics.spectrum import amplitude_spectrum

FS = 25600.0


def _ramp_burst(order=3.0, amp=2.0, rpm0=1200.0, rpm1=1800.0):
    n = int(FS)
    angle = shaft_angle_rev(n, FS, [0.0, 1.0], [rpm0, rpm1])
    return amp * np.sin(2 * np.pi * order * angle), angle


def test_shaft_angle_of_constant_speed():
    angle = shaft_angle_rev(25600, FS, [0.0], [1500.0])
    assert angle[-1] == pytest.approx(25.0 * (25599 / 25600), rel=1e-6)


def test_ramping_line_is_one_order_not_a_smear():
    x, angle = _ramp_burst()
    spec = order_spectrum(x, FS, [0.0, 1.0], [1200.0, 1800.0], max_order=20)
    peak = spec.orders[np.argmax(spec.amplitude)]
    assert peak == pytest.approx(3.0, abs=1.0 / spec.revolutions)
    assert spec.amplitude.max() == pytest.approx(2.0, rel=0.05)
    # In the plain time-frequency spectrum the same line smears from 60 to 90 Hz.
    plain = amplitude_spectrum(x, FS)
    assert plain.amplitude.max() < 0.5 * spec.amplitude.max()


def test_bad_profile_is_refused():
    with pytest.raises(ValueError, match="rpm"):
        order_spectrum(np.zeros(4096), FS, [0.0, 1.0], [1500.0, -5.0])
