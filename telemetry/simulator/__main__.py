"""``python -m telemetry.simulator``: see :mod:`telemetry.simulator.run`."""
from .run import main

raise SystemExit(main())
