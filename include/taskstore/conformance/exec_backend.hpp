#pragma once
// The `exec` backend: a storage backend written in any language, run as a separate
// program (the *driver*) that speaks a JSON-lines protocol on its standard input and
// output (docs/driver-protocol.md, protocol version 2). The conformance suite tests it like
// any other backend: `taskstore-conformance --backend exec:'python3 driver.py'`.
//
// How it runs:
//  - The command runs with /bin/sh -c. One driver process serves every store of one test
//    process; it is started lazily, and a process forked by the suite (worker and crash
//    tests) starts its own on its first open(). The driver gets SIGKILL when the process
//    (strictly, the thread) that started it dies (PR_SET_PDEATHSIG), so a driver never
//    finishes a write after the test process that started it was killed; it is also
//    expected to exit on end of file on its standard input.
//  - Each StoreEnvironment is a fresh, empty directory (under ExecOptions::store_parent);
//    the driver decides what to keep inside it. Each BaseStorage instance is a store
//    handle on the driver; its operations carry that handle.
//  - Pipe I/O runs on a thread of the backend's own, never on the caller's executor, and
//    every operation resumes on the caller's executor (ASY-1). The thread exists only
//    while an instance is open, so a process with no open instance can fork.
//  - A driver that does not answer within the timeout, exits, writes a line that is not
//    JSON or answers with the wrong id makes the operation raise StorageError naming the
//    operation, the request id, the task id and what went wrong; the driver is then
//    killed, and the next request starts a new one (open stores are reopened on it).
//  - The driver's error answers become the typed errors of taskstore/errors.hpp.

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "taskstore/conformance/registry.hpp"

namespace taskstore::conformance {

// The protocol versions this kit speaks: it sends the newest in `hello`, and a driver
// answers with the version it speaks, any from the oldest to the newest.
inline constexpr int kExecProtocolVersion = 2;
inline constexpr int kExecOldestProtocolVersion = 1;

// The default of ExecOptions::timeout when TASKSTORE_EXEC_TIMEOUT is not set.
inline constexpr std::chrono::milliseconds kDefaultExecTimeout{30'000};

struct ExecOptions {
  // The longest the backend waits for one answer (or to write one request). Unset: the
  // environment variable TASKSTORE_EXEC_TIMEOUT (seconds, e.g. "2" or "0.5"), else 30 s.
  std::optional<std::chrono::milliseconds> timeout;
  // Where each test's store directory is made. Empty: a fresh temporary directory, removed
  // when the last copy of the Backend is destroyed.
  std::filesystem::path store_parent;
  // The backend's name in test names and reports. Empty: "exec_" followed by the name the
  // driver declares in its handshake (characters other than letters, digits and '_'
  // become '_').
  std::string name;
};

// Starts the driver once (in this process) to read its handshake, and returns the
// Backend: its capabilities `persistent` and `multi_process` are the driver's, and
// `concurrent_calls` holds for a protocol 2 driver that declares `concurrent`; its
// environments support open_with_clock if the driver declares `clock`, and corrupt_task if
// it declares `corruptible`. Throws std::invalid_argument for an empty command or a bad
// TASKSTORE_EXEC_TIMEOUT, and StorageError (naming the command) if the driver can't be
// started or its handshake is wrong (not JSON, another protocol version, no answer).
Backend exec_backend(std::string command, ExecOptions options = {});

// The timeout `options` gives, else suite_config().exec_timeout (suite_config.hpp). Throws
// std::invalid_argument if TASKSTORE_EXEC_TIMEOUT is read and is not a positive number of
// seconds.
std::chrono::milliseconds exec_timeout(const ExecOptions& options);

}  // namespace taskstore::conformance
