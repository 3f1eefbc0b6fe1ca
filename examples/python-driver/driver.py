#!/usr/bin/env python3
"""A taskstore storage backend in Python: the reference driver of the exec protocol.

taskstore-conformance runs it as a separate process and talks to it on standard input and
output, one JSON request and one JSON answer per line (docs/driver-protocol.md, protocol
version 2). It declares `concurrent`: each request runs on a thread of a pool as soon as it
arrives, and its answer goes out when it is done, so the suite's races really overlap
inside this one process. Try it:

    taskstore-conformance --backend exec:'python3 examples/python-driver/driver.py'

Each store is a directory holding one SQLite database, tasks.db, in WAL mode, with one
connection per thread (a transaction belongs to its connection, so threads must never share
one). Claims and every other change run in one BEGIN IMMEDIATE transaction each, so any
number of threads and driver processes (one per test process) can share a store:
capabilities persistent and multi_process. Stamps come from the test's clock when a request carries one (capability
clock), and the `corrupt` and `corrupt_result` requests damage a stored task or result on
purpose (capabilities corruptible and corruptible_results).

Only the Python 3 standard library is used. Nothing is written to standard output but
answers: diagnostics go to standard error.
"""

import base64
import binascii
import concurrent.futures
import json
import os
import sqlite3
import sys
import threading
import time

PROTOCOL = 2
BACKEND = "python_sqlite"
# Requests run at once: more than the suite ever has in flight from one test process.
THREADS = 32

MAX_ID_BYTES = 100
INT32_MAX = 2**31 - 1
# The largest batch dequeue_batch takes (BAT-3), as BaseStorage::kMaxBatchClaim.
MAX_BATCH_CLAIM = 10000
STATUSES = ("PENDING", "RUNNING", "SUCCESS", "FAILED", "RETRYING")
BACKOFFS = ("fixed", "exponential")
# How long one transaction waits for another process's write lock, in seconds. Below the
# client's default timeout (30 s), so a stuck lock is an error answer, not a killed driver.
BUSY_TIMEOUT = 10.0
# FULL: every commit is synced, so it survives a power loss too (CRASH-3); NORMAL would
# survive the process's death only, and the handshake would have to say so
# (process_crash_only).
SYNCHRONOUS = "FULL"

SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
  seq INTEGER PRIMARY KEY,          -- enqueue order: ties among equal etas
  id BLOB NOT NULL UNIQUE,
  name BLOB NOT NULL,
  payload BLOB NOT NULL,
  status TEXT NOT NULL,
  eta INTEGER NOT NULL,             -- microseconds since the Unix epoch, UTC
  attempts INTEGER NOT NULL,
  max_retries INTEGER NOT NULL,
  backoff TEXT NOT NULL,
  retry_delay INTEGER NOT NULL,     -- microseconds
  retry_max_delay INTEGER NOT NULL,
  jitter INTEGER NOT NULL,
  interval INTEGER,                 -- NULL: no schedule
  last_error BLOB,                  -- NULL: none ('' is an empty error)
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_due ON tasks (status, eta, seq);
CREATE TABLE IF NOT EXISTS results (
  task_id BLOB PRIMARY KEY,
  status TEXT NOT NULL,
  value BLOB NOT NULL,
  error BLOB,
  finished_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS results_finished ON results (finished_at);
"""
SCHEMA_VERSION = 1
TASK_COLUMN_NAMES = ("seq", "id", "name", "payload", "status", "eta", "attempts",
                     "max_retries", "backoff", "retry_delay", "retry_max_delay", "jitter",
                     "interval", "last_error", "created_at", "updated_at")
TASK_COLUMNS = ", ".join(TASK_COLUMN_NAMES)


class DriverError(Exception):
    """An error answer: `kind` is the protocol's error type, `message` bytes or str."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind
        self.message = message if isinstance(message, bytes) else message.encode("utf-8")


class BadRequest(Exception):
    """A request that does not follow the protocol (a client bug, not a contract error)."""


# --- Encodings --------------------------------------------------------------------------

def text_in(value, what):
    """Text from the wire: a JSON string, or {"base64": ...} for bytes that aren't UTF-8."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if isinstance(value, dict) and set(value) == {"base64"} and isinstance(value["base64"], str):
        return bytes_in(value["base64"], what)
    raise BadRequest("%s is neither a string nor {\"base64\": ...}" % what)


def text_out(data):
    """Bytes as wire text: a string if they are valid UTF-8, else {"base64": ...}."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode("ascii")}


def bytes_in(value, what):
    if not isinstance(value, str):
        raise BadRequest("%s is not a base64 string" % what)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("%s is not base64" % what) from None


def bytes_out(data):
    return base64.b64encode(data).decode("ascii")


def int_in(value, what):
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest("%s is not an integer" % what)
    return value


def task_in(value):
    if not isinstance(value, dict):
        raise BadRequest("task is not an object")
    try:
        retry = value["retry"]
        schedule = value["schedule"]
        if not isinstance(retry, dict) or not (schedule is None or isinstance(schedule, dict)):
            raise BadRequest("task.retry or task.schedule is not an object")
        if not isinstance(retry["jitter"], bool) or not isinstance(value["status"], str) \
                or not isinstance(retry["backoff"], str):
            raise BadRequest("task.status, retry.backoff or retry.jitter has the wrong type")
        last_error = value["last_error"]
        return {
            "id": text_in(value["id"], "task.id"),
            "name": text_in(value["name"], "task.name"),
            "payload": bytes_in(value["payload"], "task.payload"),
            "status": value["status"],
            "eta": int_in(value["eta"], "task.eta"),
            "attempts": int_in(value["attempts"], "task.attempts"),
            "max_retries": int_in(value["max_retries"], "task.max_retries"),
            "backoff": retry["backoff"],
            "retry_delay": int_in(retry["delay"], "task.retry.delay"),
            "retry_max_delay": int_in(retry["max_delay"], "task.retry.max_delay"),
            "jitter": retry["jitter"],
            "interval": None if schedule is None
            else int_in(schedule["interval"], "task.schedule.interval"),
            "last_error": None if last_error is None else text_in(last_error, "task.last_error"),
            "created_at": int_in(value["created_at"], "task.created_at"),
            "updated_at": int_in(value["updated_at"], "task.updated_at"),
        }
    except KeyError as e:
        raise BadRequest("task has no member %s" % e) from None


def task_out(task):
    return {
        "id": text_out(task["id"]),
        "name": text_out(task["name"]),
        "payload": bytes_out(task["payload"]),
        "status": task["status"],
        "eta": task["eta"],
        "attempts": task["attempts"],
        "max_retries": task["max_retries"],
        "retry": {"backoff": task["backoff"], "delay": task["retry_delay"],
                  "max_delay": task["retry_max_delay"], "jitter": task["jitter"]},
        "schedule": None if task["interval"] is None else {"interval": task["interval"]},
        "last_error": None if task["last_error"] is None else text_out(task["last_error"]),
        "created_at": task["created_at"],
        "updated_at": task["updated_at"],
    }


def result_in(value):
    if not isinstance(value, dict):
        raise BadRequest("result is not an object")
    try:
        if not isinstance(value["status"], str):
            raise BadRequest("result.status is not a string")
        error = value["error"]
        return {
            "task_id": text_in(value["task_id"], "result.task_id"),
            "status": value["status"],
            "value": bytes_in(value["value"], "result.value"),
            "error": None if error is None else text_in(error, "result.error"),
            "finished_at": int_in(value["finished_at"], "result.finished_at"),
        }
    except KeyError as e:
        raise BadRequest("result has no member %s" % e) from None


def result_out(result):
    return {
        "task_id": text_out(result["task_id"]),
        "status": result["status"],
        "value": bytes_out(result["value"]),
        "error": None if result["error"] is None else text_out(result["error"]),
        "finished_at": result["finished_at"],
    }


# --- The contract's input checks (the words of spec/src/validation.cpp) ----------------

def invalid(operation, what):
    raise DriverError("invalid_argument", operation.encode() + b": " + what)


def validate_task_id(operation, task_id):
    if not task_id:
        invalid(operation, b"task id is empty")
    if len(task_id) > MAX_ID_BYTES:
        invalid(operation, b"task id is %d bytes, the limit is %d" % (len(task_id), MAX_ID_BYTES))
    if b"\0" in task_id:
        invalid(operation, b"task id contains a NUL byte")
    try:
        task_id.decode("utf-8")  # strict: no overlong forms, no surrogates, <= U+10FFFF
    except UnicodeDecodeError:
        invalid(operation, b"task id is not valid UTF-8")


def validate_new_task(task):
    op = "enqueue"
    validate_task_id(op, task["id"])
    who = b"task '" + task["id"] + b"'"
    if not task["name"]:
        invalid(op, who + b" has an empty name")
    if task["status"] != "PENDING":
        invalid(op, who + b" has status " + task["status"].encode() +
                b", only PENDING tasks can be enqueued")
    if task["attempts"] < 0:
        invalid(op, who + b" has negative attempts")
    if task["max_retries"] < 0:
        invalid(op, who + b" has negative max_retries (%d)" % task["max_retries"])
    if task["retry_delay"] < 0 or task["retry_max_delay"] < 0:
        invalid(op, who + b" has a negative retry delay")
    if task["interval"] is not None and task["interval"] <= 0:
        invalid(op, who + b" has a non-positive schedule interval")
    # Not contract rules but what the wire can carry: refuse what the store can't keep.
    if task["backoff"] not in BACKOFFS:
        invalid(op, who + b" has an unknown retry backoff")
    if task["attempts"] > INT32_MAX or task["max_retries"] > INT32_MAX:
        invalid(op, who + b" has a counter above 2^31 - 1")


def validate_success_result(task_id, result):
    op = "mark_done"
    validate_task_id(op, task_id)
    if result["task_id"] != task_id:
        invalid(op, b"result names task '" + result["task_id"] + b"' but was given for task '" +
                task_id + b"'")
    if result["status"] != "SUCCESS":
        invalid(op, b"result for task '" + task_id + b"' has status " +
                result["status"].encode() + b", mark_done takes SUCCESS")


# --- The store ---------------------------------------------------------------------------

class Store:
    """One open store: <directory>/tasks.db, through one connection per thread."""

    def __init__(self, directory):
        self.directory = directory
        self.where = directory.encode("utf-8", "surrogateescape")
        os.makedirs(directory, exist_ok=True)
        self._local = threading.local()
        self._holder = None  # the connection holding the write lock for hold_lock
        self._connections = []
        self._connections_lock = threading.Lock()
        # WAL keeps every commit across a crash of the process (not of the machine with
        # NORMAL, which the suite does not simulate), and lets readers run during writes.
        self._retry_while_locked(lambda: self.db.execute("PRAGMA journal_mode = WAL"))
        self._retry_while_locked(self._create_schema)

    @property
    def db(self):
        """This thread's connection, opened at its first use."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._connect()
            self._local.db = db
        return db

    def _connect(self):
        # check_same_thread=False only so that close() may close it from another thread.
        db = sqlite3.connect(os.path.join(self.directory, "tasks.db"), timeout=BUSY_TIMEOUT,
                             isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA busy_timeout = %d" % int(BUSY_TIMEOUT * 1000))
        db.execute("PRAGMA synchronous = %s" % SYNCHRONOUS)
        with self._connections_lock:
            self._connections.append(db)
        return db

    def _retry_while_locked(self, step):
        """A brand-new database may be locked by another process creating it too."""
        deadline = time.monotonic() + BUSY_TIMEOUT
        while True:
            try:
                return step()
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def _create_schema(self):
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        with self.transaction():
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise DriverError("storage", b"store " + self.where + b" has schema version %d; "
                                  b"this driver knows version %d" % (version, SCHEMA_VERSION))
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    self.db.execute(statement)
            self.db.execute("PRAGMA user_version = %d" % SCHEMA_VERSION)

    def hold_lock(self):
        """Takes the write lock on a connection of its own, as another writer would, and
        keeps it until release_lock (capability lockable)."""
        holder = self._connect()
        holder.execute("BEGIN IMMEDIATE")
        with self._connections_lock:
            if self._holder is None:
                self._holder = holder
                return None
        holder.execute("ROLLBACK")
        raise DriverError("storage", b"hold_lock: store " + self.where + b" is held already")

    def release_lock(self):
        with self._connections_lock:
            holder, self._holder = self._holder, None
        if holder is None:
            raise DriverError("storage", b"release_lock: store " + self.where + b" is not held")
        holder.execute("ROLLBACK")
        return None

    # After these, this thread's connection is not used again: an open that failed (an I/O
    # error, say) leaves SQLite reading the file read-only (SQLITE_READONLY from then on)
    # or not at all. The next request opens a new one (IOERR-2). Not after other I/O errors:
    # closing what may be the store's last connection makes the next one rebuild the WAL
    # index from the WAL file, where a commit whose sync failed still lies whole, and a
    # claim reported failed would come back (IOERR-1).
    RECONNECT_AFTER = {8, 14}  # SQLITE_READONLY, SQLITE_CANTOPEN

    def after_error(self, error):
        """Drops this thread's connection after an error that leaves it unusable; returns
        whether it did (the request, which wrote nothing, may then run again)."""
        code = getattr(error, "sqlite_errorcode", None)
        if code is None or (code & 0xFF) not in self.RECONNECT_AFTER:
            return False
        db = getattr(self._local, "db", None)
        if db is None:
            return False
        self._local.db = None
        with self._connections_lock:
            if db in self._connections:
                self._connections.remove(db)
        try:
            db.close()
        except sqlite3.Error:
            pass
        return True

    def close(self):
        with self._connections_lock:
            for db in self._connections:
                db.close()
            self._connections = []

    def transaction(self):
        return Transaction(self.db)

    # Reading rows back. A row whose columns don't have the types the schema promises (the
    # `corrupt` request writes such a row) is damaged: CorruptionError naming the store.
    def decode_task(self, operation, row):
        values = dict(zip(TASK_COLUMN_NAMES, row))
        task_id = values["id"]
        shown = task_id if isinstance(task_id, bytes) else repr(task_id).encode()

        def damaged(column, expected):
            raise DriverError("corruption", operation.encode() + b": task '" + shown +
                              b"' in store " + self.where + b" is damaged: column " +
                              column.encode() + b" holds " +
                              type(values[column]).__name__.encode() + b", expected " +
                              expected.encode())

        for column in ("id", "name", "payload"):
            if not isinstance(values[column], bytes):
                damaged(column, "bytes")
        for column in ("eta", "attempts", "max_retries", "retry_delay", "retry_max_delay",
                       "jitter", "created_at", "updated_at"):
            if not isinstance(values[column], int):
                damaged(column, "an integer")
        if values["status"] not in STATUSES:
            damaged("status", "a task status")
        if values["backoff"] not in BACKOFFS:
            damaged("backoff", "fixed or exponential")
        if values["interval"] is not None and not isinstance(values["interval"], int):
            damaged("interval", "an integer or NULL")
        if values["last_error"] is not None and not isinstance(values["last_error"], bytes):
            damaged("last_error", "bytes or NULL")
        values["jitter"] = bool(values["jitter"])
        return values

    def decode_result(self, operation, row):
        task_id, status, value, error, finished_at = row
        if not (isinstance(task_id, bytes) and status in ("SUCCESS", "FAILED")
                and isinstance(value, bytes) and (error is None or isinstance(error, bytes))
                and isinstance(finished_at, int)):
            shown = task_id if isinstance(task_id, bytes) else repr(task_id).encode()
            raise DriverError("corruption", operation.encode() + b": the result of task '" +
                              shown + b"' in store " + self.where + b" is damaged")
        return {"task_id": task_id, "status": status, "value": value, "error": error,
                "finished_at": finished_at}

    def find_seq(self, operation, task_id):
        row = self.db.execute("SELECT seq FROM tasks WHERE id = ?", (task_id,)).fetchone()
        if row is None:
            raise DriverError("not_found", operation.encode() + b": task '" + task_id +
                              b"' not found in store " + self.where)
        return row[0]

    # The nine operations. `now` is the clock reading for stamps (the request's "clock",
    # or this machine's time).
    def enqueue(self, task):
        validate_new_task(task)
        with self.transaction():
            if self.db.execute("SELECT 1 FROM tasks WHERE id = ?", (task["id"],)).fetchone():
                raise DriverError("conflict", b"enqueue: task '" + task["id"] +
                                  b"' already exists in store " + self.where)
            self.db.execute(
                "INSERT INTO tasks (id, name, payload, status, eta, attempts, max_retries, "
                "backoff, retry_delay, retry_max_delay, jitter, interval, last_error, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (task["id"], task["name"], task["payload"], task["status"], task["eta"],
                 task["attempts"], task["max_retries"], task["backoff"], task["retry_delay"],
                 task["retry_max_delay"], int(task["jitter"]), task["interval"],
                 task["last_error"], task["created_at"], task["updated_at"]))
        return text_out(task["id"])

    def dequeue(self, now):
        claimed = self._claim(now, 1, "dequeue")
        return task_out(claimed[0]) if claimed else None

    def dequeue_batch(self, now, max_tasks):
        if max_tasks < 1 or max_tasks > MAX_BATCH_CLAIM:
            invalid("dequeue_batch", b"max is %d, outside 1..%d" % (max_tasks, MAX_BATCH_CLAIM))
        return [task_out(task) for task in self._claim(now, max_tasks, "dequeue_batch")]

    def _claim(self, now, max_tasks, operation):
        """Claims up to max_tasks due tasks in claim order, in one transaction: the batch is
        all or nothing (BAT-6), and no other handle or process sees it half made."""
        claimed = []
        with self.transaction():
            cursor = self.db.execute(
                "SELECT " + TASK_COLUMNS + " FROM tasks WHERE status = 'PENDING' AND eta <= ? "
                "ORDER BY eta, seq", (now,))
            for rows in iter(lambda: cursor.fetchmany(16), []):
                for row in rows:
                    try:
                        claimed.append(self.decode_task(operation, row))
                    except DriverError:
                        continue  # DEQ-9, BAT-5: a damaged task stays where it is
                    if len(claimed) == max_tasks:
                        break
                if len(claimed) == max_tasks:
                    break
            cursor.close()
            for task in claimed:
                task["status"] = "RUNNING"
                task["attempts"] = min(task["attempts"] + 1, INT32_MAX)
                task["updated_at"] = now
                self.db.execute("UPDATE tasks SET status = 'RUNNING', attempts = ?, "
                                "updated_at = ? WHERE seq = ?",
                                (task["attempts"], now, task["seq"]))
        return claimed

    def mark_running(self, task_id, now):
        validate_task_id("mark_running", task_id)
        with self.transaction():
            seq = self.find_seq("mark_running", task_id)
            self.db.execute("UPDATE tasks SET status = 'RUNNING', updated_at = ? WHERE seq = ?",
                            (now, seq))

    def mark_done(self, task_id, result, now):
        validate_success_result(task_id, result)
        with self.transaction():
            seq = self.find_seq("mark_done", task_id)
            self.db.execute(
                "INSERT OR REPLACE INTO results (task_id, status, value, error, finished_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (task_id, result["status"], result["value"], result["error"],
                 result["finished_at"]))
            self.db.execute("UPDATE tasks SET status = 'SUCCESS', updated_at = ? WHERE seq = ?",
                            (now, seq))

    def get_result(self, task_id):
        validate_task_id("get_result", task_id)
        row = self.db.execute("SELECT task_id, status, value, error, finished_at FROM results "
                              "WHERE task_id = ?", (task_id,)).fetchone()
        return None if row is None else result_out(self.decode_result("get_result", row))

    def purge_results(self, older_than):
        with self.transaction():
            return self.db.execute("DELETE FROM results WHERE finished_at < ?",
                                   (older_than,)).rowcount

    def mark_failed(self, task_id, error, will_retry, now):
        validate_task_id("mark_failed", task_id)
        with self.transaction():
            seq = self.find_seq("mark_failed", task_id)
            status = "RETRYING" if will_retry else "FAILED"
            self.db.execute("UPDATE tasks SET status = ?, last_error = ?, updated_at = ? "
                            "WHERE seq = ?", (status, error, now, seq))
            if not will_retry:
                self.db.execute(
                    "INSERT OR REPLACE INTO results (task_id, status, value, error, finished_at) "
                    "VALUES (?, 'FAILED', ?, ?, ?)", (task_id, b"", error, now))

    def get_task(self, task_id):
        validate_task_id("get_task", task_id)
        row = self.db.execute("SELECT " + TASK_COLUMNS + " FROM tasks WHERE id = ?",
                              (task_id,)).fetchone()
        return None if row is None else task_out(self.decode_task("get_task", row))

    def reschedule(self, task_id, new_eta, now):
        validate_task_id("reschedule", task_id)
        with self.transaction():
            row = self.db.execute("SELECT " + TASK_COLUMNS + " FROM tasks WHERE id = ?",
                                  (task_id,)).fetchone()
            if row is None:
                raise DriverError("not_found", b"reschedule: task '" + task_id +
                                  b"' not found in store " + self.where)
            task = self.decode_task("reschedule", row)  # RSC-3: a damaged task stays as it is
            # Keeps seq: the enqueue order still breaks ties (DEQ-4).
            self.db.execute("UPDATE tasks SET status = 'PENDING', eta = ?, updated_at = ? "
                            "WHERE seq = ?", (new_eta, now, task["seq"]))

    def corrupt(self, task_id):
        """Damages the stored task behind the contract's back: its payload becomes text."""
        with self.transaction():
            changed = self.db.execute("UPDATE tasks SET payload = 'damaged on purpose' "
                                      "WHERE id = ?", (task_id,)).rowcount
        return changed == 1

    def corrupt_result(self, task_id):
        """Damages the task's result: its finished_at becomes text, which SQLite sorts after
        every number, so a purge passes over it and leaves it in place (PUR-5)."""
        with self.transaction():
            changed = self.db.execute("UPDATE results SET finished_at = 'damaged on purpose' "
                                      "WHERE task_id = ?", (task_id,)).rowcount
        return changed == 1


class Transaction:
    """BEGIN IMMEDIATE ... COMMIT: takes the write lock up front, so a claim's search and
    its update are one step for every process sharing the database."""

    def __init__(self, db):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, kind, value, traceback):
        if kind is None:
            try:
                self.db.execute("COMMIT")
                return False
            except sqlite3.Error:
                self._rollback()
                raise
        self._rollback()
        return False

    def _rollback(self):
        if self.db.in_transaction:
            try:
                self.db.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the connection rolled back by itself


# --- The protocol loop -----------------------------------------------------------------

class Driver:
    def __init__(self):
        self.stores = {}
        self.next_handle = 1
        self.stores_lock = threading.Lock()  # stores and next_handle, shared by the threads

    def store(self, request):
        handle = request.get("store")
        with self.stores_lock:
            if handle not in self.stores:
                raise BadRequest("unknown store handle %r" % (handle,))
            return self.stores[handle]

    def request_store(self, request):
        """The store a request names, or None."""
        handle = request.get("store")
        if not isinstance(handle, int):
            return None
        with self.stores_lock:
            return self.stores.get(handle)

    def handle(self, request):
        op = request.get("op")
        if not isinstance(op, str):
            raise BadRequest("the request has no \"op\"")
        clock = request.get("clock")
        now = int_in(clock, "clock") if clock is not None else time.time_ns() // 1000
        if op == "hello":
            return {"protocol": PROTOCOL, "backend": BACKEND,
                    "capabilities": {"persistent": True, "multi_process": True,
                                     "corruptible": True, "corruptible_results": True,
                                     "clock": True, "concurrent": True,
                                     "lockable": True, "batch_claims": True}}
        if op == "open":
            path = text_in(request.get("path"), "path").decode("utf-8", "surrogateescape")
            store = Store(path)
            with self.stores_lock:
                handle = self.next_handle
                self.next_handle += 1
                self.stores[handle] = store
            return {"store": handle}
        if op == "close":
            self.store(request).close()
            with self.stores_lock:
                del self.stores[request["store"]]
            return None
        store = self.store(request)
        if op == "enqueue":
            return store.enqueue(task_in(request.get("task")))
        if op == "dequeue":
            return store.dequeue(int_in(request.get("now"), "now"))
        if op == "dequeue_batch":
            return store.dequeue_batch(int_in(request.get("now"), "now"),
                                       int_in(request.get("max"), "max"))
        if op == "purge_results":
            return store.purge_results(int_in(request.get("older_than"), "older_than"))
        if op == "hold_lock":
            return store.hold_lock()
        if op == "release_lock":
            return store.release_lock()
        task_id = text_in(request.get("task_id"), "task_id")
        if op == "mark_running":
            return store.mark_running(task_id, now)
        if op == "mark_done":
            return store.mark_done(task_id, result_in(request.get("result")), now)
        if op == "get_result":
            return store.get_result(task_id)
        if op == "mark_failed":
            will_retry = request.get("will_retry", True)
            if not isinstance(will_retry, bool):
                raise BadRequest("will_retry is not true or false")
            return store.mark_failed(task_id, text_in(request.get("error"), "error"),
                                     will_retry, now)
        if op == "get_task":
            return store.get_task(task_id)
        if op == "reschedule":
            return store.reschedule(task_id, int_in(request.get("new_eta"), "new_eta"), now)
        if op == "corrupt":
            return store.corrupt(task_id)
        if op == "corrupt_result":
            return store.corrupt_result(task_id)
        raise BadRequest("unknown op %r" % op)

    def answer(self, line):
        try:
            request = json.loads(line)
        except ValueError as e:
            return {"id": None, "ok": False,
                    "error": {"type": "storage", "message": "request is not JSON: %s" % e}}
        if not isinstance(request, dict):
            return {"id": None, "ok": False,
                    "error": {"type": "storage", "message": "request is not a JSON object"}}
        rid = request.get("id")
        try:
            try:
                return {"id": rid, "ok": True, "result": self.handle(request)}
            except sqlite3.Error as e:
                # A connection opened while a file could not be written stays read-only
                # (SQLITE_READONLY) for good: its error wrote nothing, so once the connection
                # is dropped the request runs again, once, on a new one (IOERR-2).
                store = self.request_store(request)
                if store is None or not store.after_error(e):
                    raise
            return {"id": rid, "ok": True, "result": self.handle(request)}
        except DriverError as e:
            return {"id": rid, "ok": False,
                    "error": {"type": e.kind, "message": text_out(e.message)}}
        except BadRequest as e:
            return {"id": rid, "ok": False,
                    "error": {"type": "storage", "message": "bad request: %s" % e}}
        except sqlite3.Error as e:
            where = ""
            store = self.request_store(request)
            if store is not None:
                where = " (store %s)" % store.directory
                store.after_error(e)
            return {"id": rid, "ok": False,
                    "error": {"type": "storage",
                              "message": "%s: SQLite error%s: %s" % (request.get("op"), where, e)}}
        except Exception as e:  # a bug in this driver: say so, and keep serving
            return {"id": rid, "ok": False,
                    "error": {"type": "storage",
                              "message": "%s: driver error: %s: %s" % (request.get("op"),
                                                                       type(e).__name__, e)}}

    def run(self):
        """Reads requests as they come and runs each on the pool; answers go out in the
        order they are ready, each carrying its request's id (capability concurrent)."""
        stdin = sys.stdin.buffer
        stdout = sys.stdout.buffer
        write_lock = threading.Lock()

        def serve(line):
            reply = self.answer(line)
            data = json.dumps(reply, separators=(",", ":")).encode("ascii") + b"\n"
            with write_lock:
                try:
                    stdout.write(data)
                    stdout.flush()
                except BrokenPipeError:
                    pass  # the test process is gone; the main loop ends at end of file

        with concurrent.futures.ThreadPoolExecutor(max_workers=THREADS) as pool:
            while True:
                line = stdin.readline()
                if not line:
                    break  # end of file: the test process is done with us
                if line.strip():
                    pool.submit(serve, line)
        for store in self.stores.values():
            store.close()


if __name__ == "__main__":
    try:
        Driver().run()
    except (BrokenPipeError, KeyboardInterrupt):
        pass
