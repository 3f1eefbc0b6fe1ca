#include "driver_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <string_view>
#include <system_error>
#include <thread>

#include "child_process.hpp"

namespace taskstore::conformance::exec_detail {

namespace {

constexpr std::size_t kMaxLine = std::size_t{64} << 20;

using detail::millis_until;
using detail::wait_until_reapable;

// Waits for `fd` to become ready for `events`; false once the deadline passed.
bool wait_ready(int fd, short events, SteadyTime deadline) {
  for (;;) {
    pollfd p{.fd = fd, .events = events, .revents = 0};
    const int n = ::poll(&p, 1, millis_until(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return true;  // let the read or write report the error
  }
}

// `exec COMMAND` when COMMAND is one simple command, so the shell replaces itself with the
// driver and the driver itself has the death signal (which a fork does not pass on).
// Anything with shell syntax beyond words, quotes and redirections runs as given; such a
// command should end in `exec` itself (docs/driver-protocol.md).
std::string shell_command(const std::string& command) {
  const auto first = command.find_first_not_of(" \t");
  if (first == std::string::npos) return command;
  if (command.find_first_of(";&|()`\n") != std::string::npos) return command;
  const auto end = command.find_first_of(" \t", first);
  const std::string word = command.substr(first, end == std::string::npos ? end : end - first);
  static constexpr std::string_view kKeywords[] = {
      "if",    "then", "else", "elif", "fi", "case", "esac", "for",      "while",
      "until", "do",   "done", "{",    "}",  "!",    "exec", "function", "select"};
  for (const auto keyword : kKeywords) {
    if (word == keyword) return command;
  }
  if (word.find('=') != std::string::npos) return command;  // an assignment comes first
  return "exec " + command;
}

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// In the forked child: only async-signal-safe calls from here to exec.
[[noreturn]] void exec_child(pid_t parent, int in_read, int out_write, int max_fd,
                             const char* const* argv) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
  // Its own process group, so a kill reaches whatever the command starts.
  ::setpgid(0, 0);
  // Move the pipe ends to 0 and 1 without clobbering one with the other.
  if (out_write == 0) {
    out_write = ::fcntl(out_write, F_DUPFD, 3);
    if (out_write < 0) ::_exit(127);
  }
  if (in_read == 0) {
    ::fcntl(0, F_SETFD, 0);
  } else if (::dup2(in_read, 0) < 0) {
    ::_exit(127);
  }
  if (out_write == 1) {
    ::fcntl(1, F_SETFD, 0);
  } else if (::dup2(out_write, 1) < 0) {
    ::_exit(127);
  }
#ifdef SYS_close_range
  if (::syscall(SYS_close_range, 3U, ~0U, 0U) != 0)
#endif
  {
    for (int fd = 3; fd < max_fd; ++fd) ::close(fd);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  ::sigaction(SIGPIPE, &default_action, nullptr);
  ::execv(argv[0], const_cast<char* const*>(argv));
  ::_exit(127);
}

}  // namespace

std::unique_ptr<DriverProcess> DriverProcess::spawn(const std::string& command) {
  int in[2];
  int out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) throw_errno("pipe2");
  if (::pipe2(out, O_CLOEXEC) != 0) {
    const int saved = errno;
    ::close(in[0]);
    ::close(in[1]);
    errno = saved;
    throw_errno("pipe2");
  }
  rlimit limit{};
  int max_fd = 65536;
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    max_fd = static_cast<int>(std::min<rlim_t>(limit.rlim_cur, 1 << 20));
  }
  const std::string shell = shell_command(command);
  const char* argv[] = {"/bin/sh", "-c", shell.c_str(), nullptr};
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) exec_child(parent, in[0], out[1], max_fd, argv);
  const int saved = errno;
  ::close(in[0]);
  ::close(out[1]);
  if (pid < 0) {
    ::close(in[1]);
    ::close(out[0]);
    errno = saved;
    throw_errno("fork");
  }
  ::setpgid(pid, pid);  // also here, so a kill right after spawn reaches the group
  ::fcntl(in[1], F_SETFL, ::fcntl(in[1], F_GETFL) | O_NONBLOCK);
  ::fcntl(out[0], F_SETFL, ::fcntl(out[0], F_GETFL) | O_NONBLOCK);
  return std::unique_ptr<DriverProcess>(new DriverProcess(pid, in[1], out[0]));
}

DriverProcess::DriverProcess(pid_t pid, int to_driver, int from_driver)
    : pid_(pid), to_driver_(to_driver), from_driver_(from_driver) {}

DriverProcess::~DriverProcess() {
  if (!reaped_) kill_now();
  if (to_driver_ >= 0) ::close(to_driver_);
  if (from_driver_ >= 0) ::close(from_driver_);
}

DriverProcess::Io DriverProcess::write_line(std::string_view line, SteadyTime deadline) {
  if (to_driver_ < 0) return Io::closed;
  std::string bytes(line);
  bytes += '\n';
  detail::SigpipeGuard guard;
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(to_driver_, bytes.data() + done, bytes.size() - done);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_ready(to_driver_, POLLOUT, deadline)) return Io::timed_out;
      continue;
    }
    if (n < 0 && errno == EPIPE) guard.take_raised();
    return Io::closed;
  }
  return Io::ok;
}

DriverProcess::Io DriverProcess::read_line(std::string& line, SteadyTime deadline) {
  for (;;) {
    const auto newline = buffer_.find('\n', scanned_);
    if (newline != std::string::npos) {
      line.assign(buffer_, 0, newline);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      buffer_.erase(0, newline + 1);
      scanned_ = 0;
      return Io::ok;
    }
    scanned_ = buffer_.size();
    if (buffer_.size() > kMaxLine) return Io::too_long;
    if (from_driver_ < 0) return Io::closed;
    if (!wait_ready(from_driver_, POLLIN, deadline)) return Io::timed_out;
    char chunk[65536];
    const ssize_t got = ::read(from_driver_, chunk, sizeof chunk);
    if (got > 0) {
      buffer_.append(chunk, static_cast<std::size_t>(got));
    } else if (got == 0 || (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) {
      ::close(from_driver_);
      from_driver_ = -1;
      return Io::closed;
    }
  }
}

void DriverProcess::reap(int status) {
  reaped_ = true;
  ended_ = detail::describe_wait_status(status);
}

std::string DriverProcess::kill_now() {
  if (reaped_) return ended_;
  ::kill(-pid_, SIGKILL);  // the group: the shell and whatever it started
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reap(status);
  return ended_;
}

std::string DriverProcess::wait_for_exit(SteadyTime deadline) {
  if (reaped_) return ended_;
  if (!wait_until_reapable(pid_, deadline)) {
    return "did not exit (" + kill_now() + " after the wait)";
  }
  ::kill(-pid_, SIGKILL);  // anything the command left behind in its group
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reap(status);
  return ended_;
}

void DriverProcess::stop(SteadyTime deadline) {
  if (to_driver_ >= 0) {
    ::close(to_driver_);
    to_driver_ = -1;
  }
  wait_for_exit(deadline);
}

}  // namespace taskstore::conformance::exec_detail
