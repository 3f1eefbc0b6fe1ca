#!/usr/bin/env python3
"""The reference Python driver with one bug, for a self-test of the kit: every thread of a
store uses one shared SQLite connection, without a lock. Two requests in flight at once then
run their transactions on one connection (a second BEGIN inside the first, a claim committed
by another request's COMMIT), which the suite's races within one process must catch (DEQ-6,
CON-1): they can only because the driver declares `concurrent` and the kit overlaps calls.

Argument 1: the directory of the reference driver (examples/python-driver).
"""

import sys

sys.path.insert(0, sys.argv[1])
import driver  # noqa: E402  (the path above first)


class SharedConnectionStore(driver.Store):
    @property
    def db(self):
        shared = getattr(self, "_shared", None)
        if shared is None:
            shared = self._shared = self._connect()
        return shared


driver.Store = SharedConnectionStore
driver.BACKEND = "python_sqlite_shared_connection"

if __name__ == "__main__":
    try:
        driver.Driver().run()
    except (BrokenPipeError, KeyboardInterrupt):
        pass
