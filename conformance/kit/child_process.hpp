#pragma once
// Small POSIX helpers for the tests that fork child processes (worker processes, crash
// cycles): pipes whose ends close themselves, a forked child that never returns into the
// caller, line-based reports over pipes, and waits that are always bounded.

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace taskstore::conformance::detail {

using SteadyTime = std::chrono::steady_clock::time_point;

// Milliseconds left until `deadline`, for poll(2): 0 once it has passed.
int millis_until(SteadyTime deadline);

// Waits until `pid` can be reaped without blocking, or the deadline passes.
bool wait_until_reapable(pid_t pid, SteadyTime deadline);

// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { close(); }

  int get() const { return fd_; }
  bool is_open() const { return fd_ >= 0; }
  int release();
  void close();

 private:
  int fd_ = -1;
};

struct Pipe {
  Fd read;
  Fd write;
};

// A new pipe; throws std::system_error if the system has none left.
Pipe make_pipe();

// Blocks SIGPIPE in this thread while it writes to a pipe whose reader may be gone (a
// driver, a child process), so write(2) fails with EPIPE instead of killing the test
// program; take_raised() takes the SIGPIPE that write raised (unless one was pending
// already) before the destructor unblocks it.
class SigpipeGuard {
 public:
  SigpipeGuard();
  ~SigpipeGuard();
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

  void take_raised();

 private:
  sigset_t pipe_;
  sigset_t old_;
  bool was_pending_ = false;
};

// Writes all of `line` and a newline with write(2), so a report line reaches the reader
// the moment it is written (no stdio buffer for a SIGKILL to lose). Returns false if the
// reader is gone.
bool write_line(int fd, std::string_view line);

// Splits what a child writes into a pipe into lines.
class LineReader {
 public:
  explicit LineReader(Fd fd) : fd_(std::move(fd)) {}

  enum class Status { line, end_of_file, timed_out };
  // The next complete line (without its newline), waiting no later than `deadline`. A last
  // line without a newline at end of file is returned as a line.
  Status next(std::string& line, SteadyTime deadline);

  int fd() const { return fd_.get(); }
  // Moves complete lines out of `chunk` (bytes just read) into the queue.
  void feed(std::string_view chunk);
  // Takes the next queued line, if any.
  bool pop(std::string& line);
  // Marks the end of the pipe: a pending partial line becomes a line.
  void finish();
  bool finished() const { return finished_; }

 private:
  Fd fd_;
  std::string partial_;
  std::vector<std::string> lines_;
  std::size_t next_line_ = 0;
  bool finished_ = false;
};

// Reads every reader to its end of file, polling them together. Returns false if the
// deadline passed first.
bool read_all_until_end(std::vector<LineReader*> readers, SteadyTime deadline);

// A forked child process. The child runs `body` and leaves with _exit(its return value):
// it never returns into the caller (no googletest teardown, no destructors of the parent's
// objects, no atexit handlers). A body that throws exits with kBodyThrew. The parent must
// not hold threads or open store instances when it forks: the child inherits only the
// forking thread, and the reference backends refuse instances opened by another process.
class ChildProcess {
 public:
  static constexpr int kBodyThrew = 101;

  static ChildProcess fork(const std::function<int()>& body);

  ChildProcess(ChildProcess&& other) noexcept : pid_(other.pid_) { other.pid_ = -1; }
  ChildProcess& operator=(ChildProcess&&) = delete;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // Kills and reaps a child that was not waited for, so no test leaves one behind.
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  void kill() const;

  // Waits for the child to end, no later than `deadline`; past it, kills it and reaps it.
  // Returns the wait status, or nullopt if the deadline passed (the child is gone either
  // way).
  std::optional<int> wait(SteadyTime deadline);

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
};

// "exited with code 3", "killed by signal 9 (Killed)", for messages.
std::string describe_wait_status(int status);

// Closes every descriptor in `fds` (in a child, the pipe ends it does not use).
void close_all(std::vector<Fd*> fds);

// Waits until no other process has a file under `directory` open (read from /proc), or the
// deadline passes (false). A killed child's exec driver dies by its death signal, a moment
// after the child: until it has, a commit it was making may still land, or lie in a WAL
// where the next reader's recovery finds it, so its store must not be read before.
bool wait_until_no_process_holds(const std::filesystem::path& directory, SteadyTime deadline);

}  // namespace taskstore::conformance::detail
