"""The edge-gateway client a machine runs: builds uploads (:mod:`.payloads`), keeps them in a
buffer that survives a restart (:mod:`.buffer`) and sends them in order with retry
(:mod:`.client`). Protocol adapters on the machine side (J1939, Modbus) belong here as they come.
"""
