"""The fleet simulator: simulated excavators and generator sets that upload through the real
edge-gateway client (:mod:`telemetry.gateway`) to the real ingest API.

``python -m telemetry.simulator`` runs it (:mod:`telemetry.simulator.run`). Nothing on the server
side imports this package; it is a client, like a machine in the field.
"""
