#include "child.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace taskstore::bench {

namespace {

// An owned descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      close();
      fd_ = other.fd_;
      other.fd_ = -1;
    }
    return *this;
  }
  ~Fd() { close(); }

  int get() const { return fd_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

struct Pipe {
  Fd read;
  Fd write;
};

Pipe make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  }
  return Pipe{Fd(fds[0]), Fd(fds[1])};
}

void write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the parent is gone; nothing to tell
    done += static_cast<std::size_t>(n);
  }
}

// Reads until `stop` (inclusive) or end of file.
std::string read_until(int fd, char stop) {
  std::string out;
  char c;
  for (;;) {
    const ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return out;
    out.push_back(c);
    if (c == stop) return out;
  }
}

std::string read_to_end(int fd) {
  std::string out;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return out;
    out.append(buffer, static_cast<std::size_t>(n));
  }
}

std::string one_line(std::string text) {
  for (char& c : text) {
    if (c == '\n') c = ' ';
  }
  return text;
}

// Forks; the child runs `body` and leaves with _exit, never returning into the caller
// (no destructors of the parent's objects, no atexit handlers, no reporter output).
pid_t fork_child(const std::function<void()>& body) {
  std::fflush(nullptr);  // or buffered output would be written twice
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    try {
      body();
    } catch (...) {
      ::_exit(2);
    }
    ::_exit(0);
  }
  return pid;
}

std::string wait_for(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return std::string("waitpid: ") + std::strerror(errno);
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "exited with status " + std::to_string(WEXITSTATUS(status));
}

// One worker process: opens its store, says it is ready, waits for the start signal
// (the parent closing the start pipe), claims, and reports one line:
// "OK <claims> <errors> <first error>" or "FAIL <message>".
void run_worker(const std::function<std::shared_ptr<BaseStorage>()>& open, int ready_fd,
                int start_fd, int report_fd) {
  std::shared_ptr<BaseStorage> store;
  std::string failure;
  try {
    store = open();
  } catch (const std::exception& e) {
    failure = e.what();
  }
  write_all(ready_fd, "R");
  read_to_end(start_fd);
  if (!store) {
    write_all(report_fd, "FAIL " + one_line(failure) + "\n");
    return;
  }
  ClaimCount count;
  try {
    run_sync(claim_loop(*store, UINT64_MAX, count));
  } catch (const std::exception& e) {
    write_all(report_fd, "FAIL " + one_line(e.what()) + "\n");
    return;
  }
  write_all(report_fd, "OK " + std::to_string(count.claims) + " " +
                           std::to_string(count.errors) + " " + one_line(count.first_error) +
                           "\n");
  store.reset();  // after the report: closing is not part of the drain
}

}  // namespace

ProcessDrain drain_in_processes(int processes,
                                const std::function<std::shared_ptr<BaseStorage>()>& open) {
  Pipe ready = make_pipe();
  Pipe start = make_pipe();
  std::vector<Fd> reports;
  std::vector<pid_t> pids;
  std::string failure;
  for (int i = 0; i < processes && failure.empty(); ++i) {
    Pipe report = make_pipe();
    try {
      const int ready_fd = ready.write.get();
      const int start_read_fd = start.read.get();
      const int start_write_fd = start.write.get();
      const int report_fd = report.write.get();
      pids.push_back(fork_child([&] {
        ::close(start_write_fd);  // or the start pipe would never reach end of file
        run_worker(open, ready_fd, start_read_fd, report_fd);
      }));
    } catch (const std::exception& e) {
      failure = e.what();
      break;
    }
    report.write.close();
    reports.push_back(std::move(report.read));
  }
  ready.write.close();
  for (std::size_t i = 0; i < pids.size(); ++i) {
    if (read_until(ready.read.get(), 'R').empty()) {
      failure = "a worker process died before it was ready";
      break;
    }
  }

  const auto started = std::chrono::steady_clock::now();
  start.write.close();  // every worker starts claiming now
  ProcessDrain drain;
  std::vector<std::string> lines;
  for (Fd& report : reports) lines.push_back(read_until(report.get(), '\n'));
  drain.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  for (std::size_t i = 0; i < pids.size(); ++i) {
    const std::string ended = wait_for(pids[i]);
    std::istringstream line(i < lines.size() ? lines[i] : std::string());
    std::string status;
    line >> status;
    if (status == "OK") {
      ClaimCount count;
      line >> count.claims >> count.errors;
      std::getline(line >> std::ws, count.first_error);
      drain.total += count;
    } else if (failure.empty()) {
      std::string message;
      std::getline(line >> std::ws, message);
      failure = "worker process " + std::to_string(i) + ": " +
                (status == "FAIL" ? message : "no report (" + ended + ")");
    }
  }
  if (!failure.empty()) throw std::runtime_error(failure);
  return drain;
}

std::string run_in_child(const std::function<std::string()>& body) {
  Pipe out = make_pipe();
  const int out_fd = out.write.get();
  const pid_t pid = fork_child([&] {
    std::string text;
    try {
      text = "OK\n" + body();
    } catch (const std::exception& e) {
      text = "FAIL " + one_line(e.what());
    }
    write_all(out_fd, text);
  });
  out.write.close();
  const std::string text = read_to_end(out.read.get());
  const std::string ended = wait_for(pid);
  if (text.rfind("OK\n", 0) == 0) return text.substr(3);
  throw std::runtime_error(text.rfind("FAIL ", 0) == 0 ? text.substr(5)
                                                       : "the child process gave no report (" +
                                                             ended + ")");
}

}  // namespace taskstore::bench
