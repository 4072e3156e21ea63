"""A small thread-safe LRU for things derived from stored bursts (a stored burst never changes)."""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any


class LruCache:
    """Least-recently-used cache of at most ``capacity`` items, shared by the server's threads.

    Per process by design: it only saves recomputation of immutable results, so a second process
    with its own copy can never contradict this one.
    """

    def __init__(self, capacity: int = 64):
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def get(self, key: str) -> Any | None:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)
