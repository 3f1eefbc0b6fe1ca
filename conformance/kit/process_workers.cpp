#include "taskstore/conformance/process_workers.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <climits>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>

#include "child_process.hpp"
#include "taskstore/sync_wait.hpp"

namespace taskstore::conformance {

namespace {

using detail::ChildProcess;
using detail::Fd;
using detail::LineReader;
using detail::millis_until;
using detail::Pipe;
using detail::SteadyTime;
using detail::write_line;

// Report lines, one per event, written the moment it happens:
//   C <id>   a worker claimed the task
//   Q <id>   the enqueuer's enqueue of the task returned
//   E <text> the child failed (its last line)
constexpr std::string_view kClaimed = "C ";
constexpr std::string_view kEnqueued = "Q ";
constexpr std::string_view kFailed = "E ";

// One line of an error message, so a report line stays one line.
std::string one_line(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text;
}

// What a readable pipe gave: bytes, its end, or nothing before the deadline.
enum class PipeEvent { data, end_of_file, timed_out };

PipeEvent wait_on_pipe(int fd, SteadyTime deadline) {
  for (;;) {
    pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
    const int n = ::poll(&p, 1, millis_until(deadline));
    if (n == 0) return PipeEvent::timed_out;
    if (n < 0) {
      if (errno == EINTR) continue;
      return PipeEvent::end_of_file;
    }
    char buffer[256];
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    return got > 0 ? PipeEvent::data : PipeEvent::end_of_file;
  }
}

// Blocks until the parent closes its end of the start pipe: every child then starts
// claiming at the same moment, whatever opening its instance cost.
void wait_for_start(int start_fd, SteadyTime deadline) {
  for (;;) {
    switch (wait_on_pipe(start_fd, deadline)) {
      case PipeEvent::end_of_file:
        return;
      case PipeEvent::timed_out:
        throw std::runtime_error("the start signal never came");
      case PipeEvent::data:
        break;
    }
  }
}

// The child's side: closes every pipe end it does not use, runs `work`, and turns an
// exception into a last report line.
int run_child(const std::vector<Fd*>& all, const std::vector<const Fd*>& keep, int report_fd,
              const std::function<void()>& work) {
  // A worker that failed early closes its wake pipe; the enqueuer must see EPIPE, not die.
  ::signal(SIGPIPE, SIG_IGN);
  for (Fd* fd : all) {
    if (std::find(keep.begin(), keep.end(), fd) == keep.end()) fd->close();
  }
  try {
    work();
    return 0;
  } catch (const std::exception& e) {
    write_line(report_fd, std::string(kFailed) + one_line(e.what()));
  } catch (...) {
    write_line(report_fd, std::string(kFailed) + "an exception that is not a std::exception");
  }
  return 2;
}

// `batch` > 0: claims in batches of up to `batch` through dequeue_batch.
void claim_until_done(StoreEnvironment& environment, int start_fd, int wake_fd, int report_fd,
                      Timestamp now, std::size_t batch, SteadyTime deadline) {
  const std::shared_ptr<BaseStorage> store = environment.open();
  boost::asio::io_context io;
  wait_for_start(start_fd, deadline);
  // Without an enqueuer the store already holds everything, so one empty dequeue ends it.
  bool enqueuer_done = wake_fd < 0;
  for (;;) {
    if (std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error("still claiming at the race's deadline");
    }
    // An empty dequeue ends the worker only if it began after the enqueuer was done: then
    // every task was in the store before it looked, so each is claimed by someone.
    const bool finished = enqueuer_done;
    std::vector<Task> claimed;
    if (batch > 0) {
      claimed = sync_wait(io, store->dequeue_batch(now, batch));
    } else if (auto task = sync_wait(io, store->dequeue(now))) {
      claimed.push_back(std::move(*task));
    }
    for (const Task& task : claimed) {
      if (!write_line(report_fd, std::string(kClaimed) + task.id)) {
        throw std::runtime_error("the parent stopped reading claims");
      }
    }
    if (!claimed.empty()) continue;
    if (finished) break;
    // Nothing due yet: wait for the enqueuer's next task (a byte) or its end (EOF).
    switch (wait_on_pipe(wake_fd, deadline)) {
      case PipeEvent::end_of_file:
        enqueuer_done = true;
        break;
      case PipeEvent::timed_out:
        throw std::runtime_error("waited for the enqueuer past the race's deadline");
      case PipeEvent::data:
        break;
    }
  }
}

void enqueue_all(StoreEnvironment& environment, int start_fd, const std::vector<int>& wake_fds,
                 int report_fd, const std::vector<Task>& tasks, SteadyTime deadline) {
  const std::shared_ptr<BaseStorage> store = environment.open();
  boost::asio::io_context io;
  for (const int fd : wake_fds) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  wait_for_start(start_fd, deadline);
  for (const Task& task : tasks) {
    sync_wait(io, store->enqueue(task));
    if (!write_line(report_fd, std::string(kEnqueued) + task.id)) {
      throw std::runtime_error("the parent stopped reading enqueues");
    }
    // A full pipe already holds a wake-up; a closed one belongs to a worker that failed.
    for (const int fd : wake_fds) (void)!::write(fd, "+", 1);
  }
}

// Reads one child's report lines into `claimed_or_enqueued` and its failure text.
void parse_report(LineReader& reader, std::vector<std::string>& ids, std::string& failure) {
  std::string line;
  while (reader.pop(line)) {
    if (line.starts_with(kClaimed) || line.starts_with(kEnqueued)) {
      ids.push_back(line.substr(2));
    } else if (line.starts_with(kFailed)) {
      failure = line.substr(2);
    } else {
      failure = "unexpected report line '" + line + "'";
    }
  }
}

void note_exit(const std::optional<int>& status, std::string& failure) {
  if (!status) {
    failure += (failure.empty() ? "" : "; ") + std::string("killed at the race's deadline");
  } else if (!(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)) {
    failure += (failure.empty() ? "" : "; ") + detail::describe_wait_status(*status);
  }
}

}  // namespace

std::string ClaimRaceReport::failures() const {
  std::string text;
  auto add = [&](const std::string& line) { text += (text.empty() ? "" : "\n") + line; };
  if (timed_out) add("the race did not end before its timeout");
  for (std::size_t w = 0; w < workers.size(); ++w) {
    if (!workers[w].failure.empty()) add("worker " + std::to_string(w) + ": " + workers[w].failure);
  }
  if (!enqueuer_failure.empty()) add("enqueuer: " + enqueuer_failure);
  return text;
}

ClaimRaceReport run_claim_race(StoreEnvironment& environment, const ClaimRaceOptions& options) {
  if (options.workers < 1) throw std::invalid_argument("run_claim_race: workers must be >= 1");
  const SteadyTime deadline = std::chrono::steady_clock::now() + options.timeout;
  const bool with_enqueuer = !options.to_enqueue.empty();
  const auto workers = static_cast<std::size_t>(options.workers);

  // Every pipe exists before the first fork, so each child can close the ends it must not
  // hold: a worker holding a wake pipe's write end would never see the enqueuer finish.
  Pipe start = detail::make_pipe();
  std::vector<Pipe> wake;
  std::vector<Pipe> reports;
  for (std::size_t w = 0; w < workers; ++w) {
    if (with_enqueuer) wake.push_back(detail::make_pipe());
    reports.push_back(detail::make_pipe());
  }
  Pipe enqueuer_report = with_enqueuer ? detail::make_pipe() : Pipe{};
  std::vector<Fd*> all{&start.read, &start.write, &enqueuer_report.read, &enqueuer_report.write};
  for (auto& p : wake) all.insert(all.end(), {&p.read, &p.write});
  for (auto& p : reports) all.insert(all.end(), {&p.read, &p.write});

  std::vector<ChildProcess> children;
  for (std::size_t w = 0; w < workers; ++w) {
    const int wake_fd = with_enqueuer ? wake[w].read.get() : -1;
    std::vector<const Fd*> keep{&start.read, &reports[w].write};
    if (with_enqueuer) keep.push_back(&wake[w].read);
    children.push_back(ChildProcess::fork([&, w, wake_fd, keep] {
      return run_child(all, keep, reports[w].write.get(), [&] {
        // Odd workers claim in batches, if asked to: batches then race single claims.
        const std::size_t batch = w % 2 == 1 ? options.batch : 0;
        claim_until_done(environment, start.read.get(), wake_fd, reports[w].write.get(),
                         options.now, batch, deadline);
      });
    }));
  }
  if (with_enqueuer) {
    std::vector<const Fd*> keep{&start.read, &enqueuer_report.write};
    std::vector<int> wake_fds;
    for (auto& p : wake) {
      keep.push_back(&p.write);
      wake_fds.push_back(p.write.get());
    }
    children.push_back(ChildProcess::fork([&] {
      return run_child(all, keep, enqueuer_report.write.get(), [&] {
        enqueue_all(environment, start.read.get(), wake_fds, enqueuer_report.write.get(),
                    options.to_enqueue, deadline);
      });
    }));
  }

  // The parent keeps only the read ends of the reports, then gives the start signal.
  start.read.close();
  enqueuer_report.write.close();
  for (auto& p : wake) {
    p.read.close();
    p.write.close();
  }
  for (auto& p : reports) p.write.close();
  start.write.close();

  std::vector<LineReader> readers;
  for (auto& p : reports) readers.emplace_back(std::move(p.read));
  if (with_enqueuer) readers.emplace_back(std::move(enqueuer_report.read));
  std::vector<LineReader*> reader_pointers;
  for (auto& r : readers) reader_pointers.push_back(&r);

  ClaimRaceReport report;
  report.timed_out = !detail::read_all_until_end(reader_pointers, deadline);
  if (report.timed_out) {
    for (const auto& child : children) child.kill();
  }
  report.workers.resize(workers);
  for (std::size_t w = 0; w < workers; ++w) {
    parse_report(readers[w], report.workers[w].claimed, report.workers[w].failure);
    note_exit(children[w].wait(deadline), report.workers[w].failure);
  }
  if (with_enqueuer) {
    parse_report(readers.back(), report.enqueued, report.enqueuer_failure);
    note_exit(children.back().wait(deadline), report.enqueuer_failure);
  }
  return report;
}

// --- StoreProcess ----------------------------------------------------------------------

// Lines: the parent sends a step's index; the child answers "ok" or "E <error>".
struct StoreProcess::Child {
  Fd commands;  // the parent's end: step indexes
  std::unique_ptr<LineReader> answers;
  std::optional<ChildProcess> process;
  std::chrono::seconds timeout;
  std::string broken;  // set once a step went unanswered: later answers can't be matched
};

namespace {

// The parent's ends of the pipes of every StoreProcess alive in this process. A child forked
// later inherits them and must close them, or an earlier child never sees its input end
// when its StoreProcess closes it (and waits for that until its timeout).
std::mutex& parent_ends_mutex() {
  static std::mutex mutex;
  return mutex;
}
std::set<int>& parent_ends() {
  static std::set<int> fds;
  return fds;
}

}  // namespace

StoreProcess::StoreProcess(StoreEnvironment& environment, std::vector<Step> steps,
                           std::chrono::seconds timeout)
    : child_(std::make_unique<Child>()) {
  child_->timeout = timeout;
  Pipe commands = detail::make_pipe();
  Pipe answers = detail::make_pipe();
  const std::set<int> siblings = [] {
    const std::lock_guard lock(parent_ends_mutex());
    return parent_ends();
  }();
  child_->process.emplace(ChildProcess::fork([&]() -> int {
    ::signal(SIGPIPE, SIG_IGN);
    for (const int fd : siblings) ::close(fd);
    commands.write.close();
    answers.read.close();
    LineReader reader(std::move(commands.read));
    std::shared_ptr<BaseStorage> store;
    boost::asio::io_context io;
    std::string line;
    // Waits for the parent as long as it lives (a day bounds it): the parent ends this by
    // closing its end, or by dying, which closes it too.
    while (reader.next(line, std::chrono::steady_clock::now() + std::chrono::hours(24)) ==
           LineReader::Status::line) {
      try {
        const std::size_t i = std::stoul(line);
        if (i >= steps.size()) throw std::out_of_range("no step " + line);
        if (!store) store = environment.open();
        steps[i](*store, io);
        write_line(answers.write.get(), "ok");
      } catch (const std::exception& e) {
        write_line(answers.write.get(), std::string(kFailed) + one_line(e.what()));
      }
    }
    return 0;
  }));
  commands.read.close();
  answers.write.close();
  child_->commands = std::move(commands.write);
  child_->answers = std::make_unique<LineReader>(std::move(answers.read));
  const std::lock_guard lock(parent_ends_mutex());
  parent_ends().insert(child_->commands.get());
  parent_ends().insert(child_->answers->fd());
}

StoreProcess::~StoreProcess() {
  {
    const std::lock_guard lock(parent_ends_mutex());
    parent_ends().erase(child_->commands.get());
    parent_ends().erase(child_->answers->fd());
  }
  child_->commands.close();
  child_->process->wait(std::chrono::steady_clock::now() + child_->timeout);
}

std::string StoreProcess::run(std::size_t i) {
  const std::string step = "step " + std::to_string(i) + " in process " +
                           std::to_string(child_->process->pid());
  if (!child_->broken.empty()) return step + ": " + child_->broken;
  {
    // A child that has ended must not take the test program with it through SIGPIPE.
    detail::SigpipeGuard guard;
    if (!write_line(child_->commands.get(), std::to_string(i))) {
      guard.take_raised();
      return step + ": the process is gone";
    }
  }
  std::string line;
  switch (child_->answers->next(line, std::chrono::steady_clock::now() + child_->timeout)) {
    case LineReader::Status::line:
      if (line == "ok") return "";
      return step + ": " + (line.starts_with(kFailed) ? line.substr(kFailed.size()) : line);
    case LineReader::Status::end_of_file:
      return step + ": the process ended without answering";
    case LineReader::Status::timed_out:
      break;
  }
  child_->broken = "an earlier step got no answer within " +
                   std::to_string(child_->timeout.count()) + " s, so the process was killed";
  child_->process->kill();
  return step + ": no answer within " + std::to_string(child_->timeout.count()) + " s";
}

}  // namespace taskstore::conformance
