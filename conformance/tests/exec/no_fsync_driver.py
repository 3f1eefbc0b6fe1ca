#!/usr/bin/env python3
"""The reference Python driver with one bug, for a self-test of the kit: it never syncs
(SQLite's synchronous = OFF) yet declares that it is persistent. Every commit still
survives the death of its process (the page cache keeps it), so only the power-cut tests
can catch it (CRASH-3, CRASH-4).

Argument 1: the directory of the reference driver (examples/python-driver).
"""

import sys

sys.path.insert(0, sys.argv[1])
import driver  # noqa: E402  (the path above first)

driver.SYNCHRONOUS = "OFF"
driver.BACKEND = "python_sqlite_no_fsync"

if __name__ == "__main__":
    try:
        driver.Driver().run()
    except (BrokenPipeError, KeyboardInterrupt):
        pass
