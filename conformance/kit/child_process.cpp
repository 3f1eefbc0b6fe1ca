#include "child_process.hpp"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace taskstore::conformance::detail {

// Milliseconds left until `deadline`, for poll(2): 0 once it has passed.
int millis_until(SteadyTime deadline) {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline -
                                                                 std::chrono::steady_clock::now());
  return static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, INT_MAX));
}

// Waits until `pid` can be reaped without blocking, or the deadline passes. Uses a pidfd
// where the kernel has them (Linux 5.3); otherwise polls waitpid with short pauses, which
// only bound the wait and decide nothing.
bool wait_until_reapable(pid_t pid, SteadyTime deadline) {
#ifdef SYS_pidfd_open
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) {
    const Fd owned(pidfd);
    pollfd p{.fd = pidfd, .events = POLLIN, .revents = 0};
    for (;;) {
      const int n = ::poll(&p, 1, millis_until(deadline));
      if (n > 0) return true;
      if (n == 0) return false;
      if (errno != EINTR) break;
    }
  }
#endif
  auto pause = std::chrono::microseconds(200);
  for (;;) {
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid == pid) {
      return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(20'000));
  }
}

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = other.release();
  }
  return *this;
}

int Fd::release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

void Fd::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Pipe make_pipe() {
  int fds[2];
  if (::pipe(fds) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
  return Pipe{Fd(fds[0]), Fd(fds[1])};
}

SigpipeGuard::SigpipeGuard() {
  sigemptyset(&pipe_);
  sigaddset(&pipe_, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  sigset_t pending;
  sigemptyset(&pending);
  ::sigpending(&pending);
  was_pending_ = sigismember(&pending, SIGPIPE) == 1;
}

SigpipeGuard::~SigpipeGuard() { ::pthread_sigmask(SIG_SETMASK, &old_, nullptr); }

void SigpipeGuard::take_raised() {
  if (was_pending_) return;
  const timespec zero{0, 0};
  while (::sigtimedwait(&pipe_, nullptr, &zero) < 0 && errno == EINTR) {
  }
}

bool write_line(int fd, std::string_view line) {
  std::string bytes(line);
  bytes += '\n';
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

void LineReader::feed(std::string_view chunk) {
  for (const char c : chunk) {
    if (c == '\n') {
      lines_.push_back(std::move(partial_));
      partial_.clear();
    } else {
      partial_ += c;
    }
  }
}

bool LineReader::pop(std::string& line) {
  if (next_line_ >= lines_.size()) {
    lines_.clear();
    next_line_ = 0;
    return false;
  }
  line = std::move(lines_[next_line_++]);
  return true;
}

void LineReader::finish() {
  if (!partial_.empty()) lines_.push_back(std::move(partial_));
  partial_.clear();
  finished_ = true;
  fd_.close();
}

LineReader::Status LineReader::next(std::string& line, SteadyTime deadline) {
  for (;;) {
    if (pop(line)) return Status::line;
    if (finished_) return Status::end_of_file;
    pollfd p{.fd = fd_.get(), .events = POLLIN, .revents = 0};
    const int n = ::poll(&p, 1, millis_until(deadline));
    if (n == 0) return Status::timed_out;
    if (n < 0) {
      if (errno == EINTR) continue;
      finish();
      continue;
    }
    char buffer[4096];
    const ssize_t got = ::read(fd_.get(), buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      finish();
    } else {
      feed(std::string_view(buffer, static_cast<std::size_t>(got)));
    }
  }
}

bool read_all_until_end(std::vector<LineReader*> readers, SteadyTime deadline) {
  for (;;) {
    std::vector<pollfd> polls;
    std::vector<LineReader*> open;
    for (LineReader* r : readers) {
      if (r->finished()) continue;
      polls.push_back(pollfd{.fd = r->fd(), .events = POLLIN, .revents = 0});
      open.push_back(r);
    }
    if (open.empty()) return true;
    const int n = ::poll(polls.data(), polls.size(), millis_until(deadline));
    if (n == 0) return false;
    if (n < 0) {
      if (errno == EINTR) continue;
      for (LineReader* r : open) r->finish();
      return true;
    }
    for (std::size_t i = 0; i < polls.size(); ++i) {
      if (polls[i].revents == 0) continue;
      char buffer[4096];
      const ssize_t got = ::read(polls[i].fd, buffer, sizeof buffer);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        open[i]->finish();
      } else {
        open[i]->feed(std::string_view(buffer, static_cast<std::size_t>(got)));
      }
    }
  }
}

ChildProcess ChildProcess::fork(const std::function<int()>& body) {
  const pid_t pid = ::fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid == 0) {
    int code = kBodyThrew;
    try {
      code = body();
    } catch (...) {
    }
    ::_exit(code);
  }
  return ChildProcess(pid);
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    kill();
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

void ChildProcess::kill() const {
  if (pid_ > 0) ::kill(pid_, SIGKILL);
}

std::optional<int> ChildProcess::wait(SteadyTime deadline) {
  if (pid_ <= 0) throw std::logic_error("ChildProcess::wait: the child was already reaped");
  const bool ended = wait_until_reapable(pid_, deadline);
  if (!ended) kill();
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  if (!ended) return std::nullopt;
  return status;
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* name = ::strsignal(sig);
    return "killed by signal " + std::to_string(sig) + (name ? std::string(" (") + name + ")" : "");
  }
  return "ended with wait status " + std::to_string(status);
}

void close_all(std::vector<Fd*> fds) {
  for (Fd* fd : fds) fd->close();
}

namespace {

// Whether a process other than this one has a file under `prefix` (a directory path
// ending in '/') open. Processes that vanish or can't be read meanwhile are passed over.
bool another_process_holds(const std::string& prefix) {
  const std::string self = std::to_string(::getpid());
  std::error_code error;
  for (const auto& process : std::filesystem::directory_iterator("/proc", error)) {
    const std::string pid = process.path().filename().string();
    if (pid == self || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code ignored;
    for (const auto& fd : std::filesystem::directory_iterator(process.path() / "fd", ignored)) {
      std::error_code unreadable;
      const std::string target = std::filesystem::read_symlink(fd.path(), unreadable).string();
      if (!unreadable && (target + "/").starts_with(prefix)) return true;
    }
  }
  return false;
}

}  // namespace

bool wait_until_no_process_holds(const std::filesystem::path& directory, SteadyTime deadline) {
  std::error_code error;
  std::filesystem::path canonical = std::filesystem::weakly_canonical(directory, error);
  if (error) canonical = directory;
  const std::string prefix = canonical.string() + "/";
  while (another_process_holds(prefix)) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace taskstore::conformance::detail
