#pragma once
// One running driver program: /bin/sh -c COMMAND with pipes on its standard input and
// output, and bounded writes and reads of lines. Part of the exec backend.

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace taskstore::conformance::exec_detail {

using SteadyTime = std::chrono::steady_clock::time_point;

class DriverProcess {
 public:
  // Forks and execs `/bin/sh -c command` from the calling thread. In the child, before
  // exec: SIGKILL when the calling thread dies (PR_SET_PDEATHSIG), every descriptor other
  // than the two pipes and standard error closed, signal mask and SIGPIPE reset. Throws
  // std::system_error if the pipes or the fork fail.
  static std::unique_ptr<DriverProcess> spawn(const std::string& command);

  // Kills and reaps the process if it still runs.
  ~DriverProcess();
  DriverProcess(const DriverProcess&) = delete;
  DriverProcess& operator=(const DriverProcess&) = delete;

  pid_t pid() const { return pid_; }

  enum class Io { ok, timed_out, closed, too_long };

  // Writes `line` and a newline. `closed`: the driver no longer reads its input.
  Io write_line(std::string_view line, SteadyTime deadline);
  // The next line the driver writes, without its newline (and a trailing '\r').
  // `closed`: end of file before a whole line; `too_long`: no newline in 64 MiB.
  Io read_line(std::string& line, SteadyTime deadline);

  // SIGKILL, then reap. Returns how it ended, e.g. "killed by signal 9 (Killed)".
  std::string kill_now();
  // Waits until the deadline for the process to end by itself (after it closed its output,
  // say); kills it past the deadline. Returns how it ended: "exited with code 3", or
  // "did not exit ... and was killed".
  std::string wait_for_exit(SteadyTime deadline);
  // Closes its input (a driver exits at end of file), waits until the deadline, then
  // kills it if it still runs.
  void stop(SteadyTime deadline);

 private:
  DriverProcess(pid_t pid, int to_driver, int from_driver);
  void reap(int status);

  pid_t pid_ = -1;
  int to_driver_ = -1;    // the driver's standard input (non-blocking)
  int from_driver_ = -1;  // the driver's standard output (non-blocking)
  std::string buffer_;    // bytes read past the last returned line
  std::size_t scanned_ = 0;
  bool reaped_ = false;
  std::string ended_;  // how it ended, once reaped
};

}  // namespace taskstore::conformance::exec_detail
