#pragma once
// One process's connection to its driver: starts it (again, after a failure), speaks the
// protocol (one request at a time, or many in flight with a driver that declares
// `concurrent`), maps the store handles of this process's instances to the driver's, and
// owns the threads that exec-backed instances offload their pipe I/O to. Part of the exec
// backend.

#include <sys/types.h>

#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "driver_process.hpp"
#include "exec_protocol.hpp"

namespace taskstore::conformance::exec_detail {

// What the driver said in its handshake.
struct Handshake {
  int protocol = 0;
  std::string backend;
  bool persistent = false;
  bool multi_process = false;
  bool corruptible = false;
  // The driver implements corrupt_result (StoreEnvironment::corrupt_result, PUR-5).
  bool corruptible_results = false;
  bool clock = false;
  // The driver implements hold_lock and release_lock (StoreEnvironment::hold_write_lock).
  bool lockable = false;
  // With `persistent`: data survives the driver's death, not a power loss (CRASH-3 and
  // CRASH-4 then SKIP).
  bool process_crash_only = false;
  // Protocol 2: the driver takes requests while earlier ones run and answers each by id.
  bool concurrent = false;
  // The driver implements dequeue_batch (BAT-1..BAT-6).
  bool batch_claims = false;
  // The times the driver stores exactly (capabilities.times; the widest range if absent).
  TimeRange times = kWidestTimeRange;
};

// What a request is about, for messages: "mark_done of task 't1'".
struct RequestSubject {
  std::string op;
  std::optional<std::string> task_id;
};

class Connection {
 public:
  Connection(std::string command, std::chrono::milliseconds timeout);
  // In the process that made it: stops the driver (end of file on its input, then SIGKILL
  // if it lingers). Every instance must be closed by then.
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const std::string& command() const { return command_; }
  pid_t owner() const { return owner_; }
  std::chrono::milliseconds timeout() const { return timeout_; }

  // Starts the driver on the calling thread if none runs, and returns its handshake.
  // Throws StorageError (naming the command) if it can't be started or answers wrongly.
  Handshake handshake();

  // Opens the store in `directory` on the driver and returns this process's handle for
  // it. Throws the driver's error, or StorageError.
  std::uint64_t open_store(const std::filesystem::path& directory);
  // Closes the handle on the driver (if the driver that opened it still runs). Never throws.
  void close_store(std::uint64_t handle) noexcept;

  // Sends `body` (with "id" and "store" placeholders, "op" and the operation's
  // arguments) on store `handle` and returns the answer's "result". Starts the driver
  // first if none runs (on the calling thread; `on_pool` says whether that is the pool's
  // thread) and reopens the store on a new driver. Throws the driver's typed error, or
  // StorageError naming the request for anything that goes wrong on the way. `context`,
  // if given, receives the request's description ("mark_done of task 't1' (request 17
  // to exec driver 'CMD', pid 42)") for messages about the result.
  Json call(std::uint64_t handle, const RequestSubject& subject, Json body, bool on_pool,
            std::string* context = nullptr);

  // The threads instances offload their operations to (one, or kConcurrentCalls for a
  // concurrent driver): made when the first instance opens, joined when the last one
  // closes (so a process with no open instance has no thread of ours and can fork).
  boost::asio::thread_pool::executor_type retain_pool();
  void release_pool() noexcept;

 private:
  struct StoreHandle {
    std::filesystem::path directory;
    std::uint64_t generation = 0;  // the driver it was opened on (0: none yet)
    Json driver_handle;
    bool reopening = false;  // a call is opening it on a new driver (others wait for it)
  };

  // A request waiting for its answer from a concurrent driver.
  struct Slot {
    std::optional<Json> reply;
    std::optional<std::string> failure;  // the driver failed first
  };
  // The requests in flight on one concurrent driver process. One waiter at a time reads
  // the driver's output and hands each answer to its slot; the others wait to be woken.
  struct Flight {
    std::shared_ptr<DriverProcess> driver;
    std::mutex write_mutex;  // one request line at a time on the driver's input
    std::map<std::uint64_t, Slot*> pending;
    bool reading = false;
    bool failed = false;
  };

  // Everything below runs with io_mutex_ held (`lock` is io_mutex_'s, released while the
  // request waits on a concurrent driver).
  void ensure_driver(std::unique_lock<std::mutex>& lock, const std::string& context,
                     bool on_pool);
  Json round_trip(std::unique_lock<std::mutex>& lock, Json request, const std::string& context);
  Json exchange(Json request, const std::string& context);
  Json exchange_in_flight(std::unique_lock<std::mutex>& lock, Json request,
                          const std::string& context);
  void read_one_answer(std::unique_lock<std::mutex>& lock, const std::shared_ptr<Flight>& flight,
                       SteadyTime deadline, const std::string& context);
  void fail_flight(Flight& flight, const std::string& why);
  Json result_of(const Json& reply, const std::string& line, const std::string& context);
  [[noreturn]] void fail_and_kill(const std::string& context, const std::string& what);
  Json open_on_driver(std::unique_lock<std::mutex>& lock, const std::filesystem::path& directory,
                      const std::string& context);
  std::map<std::uint64_t, StoreHandle>::iterator current_handle(
      std::unique_lock<std::mutex>& lock, std::uint64_t handle, const RequestSubject& subject,
      bool on_pool);
  std::string request_context(std::uint64_t id, const RequestSubject& subject) const;

  const std::string command_;
  const std::chrono::milliseconds timeout_;
  const pid_t owner_;

  std::mutex io_mutex_;
  std::shared_ptr<DriverProcess> driver_;
  std::shared_ptr<Flight> flight_;  // set while a concurrent driver runs
  std::condition_variable answered_;  // an answer arrived, a flight failed, or a reopen ended
  bool driver_spawned_on_pool_ = false;
  bool probing_ = false;  // in handshake(): a failure is final, no restart follows
  std::uint64_t generation_ = 0;
  std::uint64_t next_request_ = 1;
  std::uint64_t next_handle_ = 1;
  std::map<std::uint64_t, StoreHandle> handles_;
  std::optional<Handshake> handshake_;

  std::mutex pool_mutex_;
  // Threads for a concurrent driver's instances: as many calls as the suite's races have
  // in flight at once in one process.
  static constexpr int kConcurrentCalls = 16;
  std::unique_ptr<boost::asio::thread_pool> pool_;
  int pool_users_ = 0;
};

}  // namespace taskstore::conformance::exec_detail
