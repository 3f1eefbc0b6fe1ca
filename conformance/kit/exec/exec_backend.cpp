// The exec backend: BaseStorage instances whose operations are requests to a driver
// program (docs/driver-protocol.md), and the conformance environments that make them.
//
// Each operation names its work lambda before the co_await: g++ 12 destroys a temporary
// written inside a co_await expression twice.

#include "taskstore/conformance/exec_backend.hpp"
#include "taskstore/conformance/fault_layer.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <system_error>

#include "connection.hpp"
#include "taskstore/conformance/environment_helpers.hpp"
#include "taskstore/conformance/suite_config.hpp"
#include "taskstore/offload.hpp"

namespace taskstore::conformance {

namespace fs = std::filesystem;

namespace {

using exec_detail::Connection;
using exec_detail::Handshake;
using exec_detail::Json;
using exec_detail::ProtocolError;
using exec_detail::RequestSubject;

// What every copy of one exec Backend shares: the command, the handshake, where stores
// go, and this process's connection to its driver.
class ExecShared {
 public:
  // Stores go under `store_parent`, or under a temporary directory of its own (removed
  // with it) when that is empty.
  ExecShared(std::string command, std::chrono::milliseconds timeout,
             const fs::path& store_parent)
      : command_(std::move(command)), timeout_(timeout) {
    if (store_parent.empty()) {
      owned_parent_.emplace("taskstore-exec");
      parent_ = owned_parent_->path();
    } else {
      parent_ = detail::prepared_parent(store_parent, "exec");
    }
  }

  ~ExecShared() {
    if (::getpid() != creator_) {
      // A forked child never tears down its parent's driver (nor, TemporaryDirectory sees
      // to it, its directory).
      if (connection_) (void)new std::shared_ptr<Connection>(std::move(connection_));
      return;
    }
    connection_.reset();  // the driver stops before its stores' directory goes
  }

  ExecShared(const ExecShared&) = delete;
  ExecShared& operator=(const ExecShared&) = delete;

  const std::string& command() const { return command_; }
  std::chrono::milliseconds timeout() const { return timeout_; }
  const fs::path& parent() const { return parent_; }
  const Handshake& handshake() const { return handshake_; }
  void set_handshake(Handshake handshake) { handshake_ = std::move(handshake); }
  bool fault_layer_shared() const { return fault_layer_shared_; }
  void set_fault_layer_shared(bool shared) { fault_layer_shared_ = shared; }

  // This process's connection; a forked child makes its own on first use (and never
  // touches the one it inherited: its thread and its driver belong to the parent).
  std::shared_ptr<Connection> connection() {
    const std::lock_guard lock(mutex_);
    const pid_t self = ::getpid();
    if (connection_ && connection_->owner() != self) {
      (void)new std::shared_ptr<Connection>(std::move(connection_));  // leaked on purpose
      connection_.reset();
    }
    if (!connection_) connection_ = std::make_shared<Connection>(command_, timeout_);
    return connection_;
  }

 private:
  const std::string command_;
  const std::chrono::milliseconds timeout_;
  std::optional<TemporaryDirectory> owned_parent_;  // destroyed after the connection
  fs::path parent_;
  const pid_t creator_ = ::getpid();
  Handshake handshake_;
  bool fault_layer_shared_ = false;  // every driver starts with the kit's fault control
  std::mutex mutex_;
  std::shared_ptr<Connection> connection_;
};

// A store handle on the driver. Operations run their request on the connection's thread
// and resume on the caller's executor.
class ExecStorage final : public BaseStorage {
 public:
  ExecStorage(std::shared_ptr<Connection> connection, const fs::path& directory,
              std::optional<Clock> clock, bool batch_claims)
      : connection_(std::move(connection)), clock_(std::move(clock)), batch_claims_(batch_claims) {
    handle_ = connection_->open_store(directory);
    try {
      executor_.emplace(connection_->retain_pool());
    } catch (...) {
      connection_->close_store(handle_);
      throw;
    }
  }

  ~ExecStorage() override {
    if (::getpid() != connection_->owner()) return;  // a forked child's copy: not ours to close
    connection_->close_store(handle_);
    connection_->release_pool();
  }

 private:
  static std::optional<Task> optional_task(const Json& result, const std::string& what) {
    std::optional<Task> out;
    if (!result.is_null()) out = exec_detail::decode_task(result, what);
    return out;
  }

  // A request with the placeholders Connection::call fills in, in protocol order, and the
  // test's clock reading if this instance has one.
  Json request(const char* op) const {
    Json body = Json::object();
    body["id"] = 0;
    body["op"] = op;
    body["store"] = nullptr;
    if (clock_) body["clock"] = to_micros((*clock_)());
    return body;
  }

  // Work for the connection's thread: the request, then `decode` of its result; an
  // answer that does not decode is a StorageError naming the request.
  template <typename Decode>
  auto with_result(RequestSubject subject, Json body, Decode decode) const {
    return [connection = connection_, handle = handle_, subject = std::move(subject),
            body = std::move(body), decode]() mutable {
      std::string context;
      const Json result = connection->call(handle, subject, std::move(body), true, &context);
      try {
        return decode(result, std::string("the result"));
      } catch (const ProtocolError& e) {
        throw StorageError(context + ": malformed answer: " + e.what());
      }
    };
  }

  auto without_result(RequestSubject subject, Json body) const {
    return [connection = connection_, handle = handle_, subject = std::move(subject),
            body = std::move(body)]() mutable {
      connection->call(handle, subject, std::move(body), true);
    };
  }

  void check_process(std::string_view operation) const {
    if (::getpid() != connection_->owner()) {
      throw StorageError(std::string(operation) + ": this exec store was opened by process " +
                         std::to_string(connection_->owner()) +
                         "; a forked child must open its own instance");
    }
  }

 public:
  Awaitable<std::string> enqueue(Task task) override {
    check_process("enqueue");
    Json body = request("enqueue");
    body["task"] = exec_detail::encode_task(task);
    auto work = with_result(RequestSubject{.op = "enqueue", .task_id = task.id}, std::move(body),
                            [](const Json& result, const std::string& what) {
                              return exec_detail::decode_text(result, what);
                            });
    co_return co_await offload(*executor_, std::move(work));
  }

  Awaitable<std::optional<Task>> dequeue(Timestamp now) override {
    check_process("dequeue");
    Json body = request("dequeue");
    body["now"] = exec_detail::encode_time(now);
    auto work = with_result(
        RequestSubject{.op = "dequeue", .task_id = std::nullopt}, std::move(body),
        [](const Json& result, const std::string& what) { return optional_task(result, what); });
    co_return co_await offload(*executor_, std::move(work));
  }

  bool claims_batches() const override { return batch_claims_; }

  Awaitable<std::vector<Task>> dequeue_batch(Timestamp now, std::size_t max) override {
    check_process("dequeue_batch");
    if (!batch_claims_) {
      auto unsupported = BaseStorage::dequeue_batch(now, max);  // raises NotSupportedError
      co_return co_await std::move(unsupported);
    }
    // `max` goes as given: rejecting a bad one is the driver's part of BAT-3.
    Json body = request("dequeue_batch");
    body["now"] = exec_detail::encode_time(now);
    body["max"] = static_cast<std::uint64_t>(max);
    auto work = with_result(
        RequestSubject{.op = "dequeue_batch", .task_id = std::nullopt}, std::move(body),
        [](const Json& result, const std::string& what) {
          if (!result.is_array()) {
            throw ProtocolError(what + " is not an array of tasks: " +
                                exec_detail::quote(result.dump()));
          }
          std::vector<Task> batch;
          for (std::size_t i = 0; i < result.size(); ++i) {
            batch.push_back(
                exec_detail::decode_task(result[i], what + "[" + std::to_string(i) + "]"));
          }
          return batch;
        });
    co_return co_await offload(*executor_, std::move(work));
  }

  Awaitable<void> mark_running(std::string task_id) override {
    check_process("mark_running");
    Json body = request("mark_running");
    body["task_id"] = exec_detail::encode_text(task_id);
    auto work =
        without_result(RequestSubject{.op = "mark_running", .task_id = task_id}, std::move(body));
    co_await offload(*executor_, std::move(work));
  }

  Awaitable<void> mark_done(std::string task_id, TaskResult result) override {
    check_process("mark_done");
    Json body = request("mark_done");
    body["task_id"] = exec_detail::encode_text(task_id);
    body["result"] = exec_detail::encode_result(result);
    auto work =
        without_result(RequestSubject{.op = "mark_done", .task_id = task_id}, std::move(body));
    co_await offload(*executor_, std::move(work));
  }

  Awaitable<std::optional<TaskResult>> get_result(std::string task_id) override {
    check_process("get_result");
    Json body = request("get_result");
    body["task_id"] = exec_detail::encode_text(task_id);
    auto work = with_result(RequestSubject{.op = "get_result", .task_id = task_id}, std::move(body),
                            [](const Json& result, const std::string& what) {
                              std::optional<TaskResult> out;
                              if (!result.is_null()) out = exec_detail::decode_result(result, what);
                              return out;
                            });
    co_return co_await offload(*executor_, std::move(work));
  }

  Awaitable<std::size_t> purge_results(Timestamp older_than) override {
    check_process("purge_results");
    Json body = request("purge_results");
    body["older_than"] = exec_detail::encode_time(older_than);
    auto work = with_result(
        RequestSubject{.op = "purge_results", .task_id = std::nullopt}, std::move(body),
        [](const Json& result, const std::string& what) {
          if (!result.is_number_unsigned() &&
              !(result.is_number_integer() && result.get<std::int64_t>() >= 0)) {
            throw ProtocolError(
                what + " is not a count (an integer >= 0): " + exec_detail::quote(result.dump()));
          }
          return static_cast<std::size_t>(result.get<std::uint64_t>());
        });
    co_return co_await offload(*executor_, std::move(work));
  }

  Awaitable<void> mark_failed(std::string task_id, std::string error, bool will_retry) override {
    check_process("mark_failed");
    Json body = request("mark_failed");
    body["task_id"] = exec_detail::encode_text(task_id);
    body["error"] = exec_detail::encode_text(error);
    body["will_retry"] = will_retry;
    auto work =
        without_result(RequestSubject{.op = "mark_failed", .task_id = task_id}, std::move(body));
    co_await offload(*executor_, std::move(work));
  }

  Awaitable<std::optional<Task>> get_task(std::string task_id) override {
    check_process("get_task");
    Json body = request("get_task");
    body["task_id"] = exec_detail::encode_text(task_id);
    auto work = with_result(
        RequestSubject{.op = "get_task", .task_id = task_id}, std::move(body),
        [](const Json& result, const std::string& what) { return optional_task(result, what); });
    co_return co_await offload(*executor_, std::move(work));
  }

  Awaitable<void> reschedule(std::string task_id, Timestamp new_eta) override {
    check_process("reschedule");
    Json body = request("reschedule");
    body["task_id"] = exec_detail::encode_text(task_id);
    body["new_eta"] = exec_detail::encode_time(new_eta);
    auto work =
        without_result(RequestSubject{.op = "reschedule", .task_id = task_id}, std::move(body));
    co_await offload(*executor_, std::move(work));
  }

 private:
  std::shared_ptr<Connection> connection_;
  std::optional<Clock> clock_;
  bool batch_claims_ = false;  // the driver declared batch_claims
  std::uint64_t handle_ = 0;
  std::optional<boost::asio::thread_pool::executor_type> executor_;
};

// The store's write lock, held by a driver process of its own (as another worker process
// would hold it), so that the test's own driver, even one that answers one request at a
// time, keeps taking requests meanwhile.
class ExecHeldLock final : public HeldLock {
 public:
  ExecHeldLock(std::shared_ptr<Connection> connection, const fs::path& directory)
      : connection_(std::move(connection)), handle_(connection_->open_store(directory)) {
    try {
      send("hold_lock");
    } catch (...) {
      connection_->close_store(handle_);
      throw;
    }
  }
  ~ExecHeldLock() override {
    try {
      send("release_lock");
    } catch (...) {
      // Closing the store, or stopping the driver below, lets the lock go all the same.
    }
    connection_->close_store(handle_);
  }
  ExecHeldLock(const ExecHeldLock&) = delete;
  ExecHeldLock& operator=(const ExecHeldLock&) = delete;

 private:
  void send(const char* op) {
    Json body = Json::object();
    body["id"] = 0;
    body["op"] = op;
    body["store"] = nullptr;
    connection_->call(handle_, RequestSubject{.op = op, .task_id = std::nullopt}, std::move(body),
                      false);
  }

  std::shared_ptr<Connection> connection_;
  std::uint64_t handle_;
};

class ExecEnvironment final : public StoreEnvironment {
 public:
  explicit ExecEnvironment(std::shared_ptr<ExecShared> shared)
      : shared_(std::move(shared)), directory_(shared_->parent() / detail::unique_name("store")) {
    std::error_code error;
    fs::create_directories(directory_, error);
    if (error) {
      throw StorageError("exec backend: cannot create the store directory " + directory_.string() +
                         ": " + error.message());
    }
  }
  ~ExecEnvironment() override {
    if (::getpid() == creator_) detail::remove_quietly(directory_);
  }

  std::shared_ptr<BaseStorage> open() override {
    return std::make_shared<ExecStorage>(shared_->connection(), directory_, std::nullopt,
                                         shared_->handshake().batch_claims);
  }

  std::shared_ptr<BaseStorage> open_with_clock(Clock clock) override {
    if (!shared_->handshake().clock) return nullptr;
    return std::make_shared<ExecStorage>(shared_->connection(), directory_, std::move(clock),
                                         shared_->handshake().batch_claims);
  }

  std::string location() const override { return directory_.string(); }
  // The driver keeps its store under the directory it is given (protocol.md).
  std::optional<fs::path> files_directory() const override { return directory_; }
  bool runs_in_this_process() const override { return false; }
  bool shares_fault_layer() const override { return shared_->fault_layer_shared(); }

  std::unique_ptr<HeldLock> hold_write_lock() override {
    const Handshake& handshake = shared_->handshake();
    if (!handshake.lockable) {
      throw NotSupportedError("the driver does not declare the capability 'lockable'");
    }
    if (!handshake.multi_process) {
      throw NotSupportedError(
          "the lock is held from a second driver process, and the driver does not declare "
          "'multi_process'");
    }
    return std::make_unique<ExecHeldLock>(
        std::make_shared<Connection>(shared_->command(), shared_->timeout()), directory_);
  }

  bool corrupt_task(const std::string& task_id) override {
    if (!shared_->handshake().corruptible) {
      throw NotSupportedError("the driver does not declare the capability 'corruptible'");
    }
    return damage("corrupt", task_id);
  }

  bool corrupt_result(const std::string& task_id) override {
    if (!shared_->handshake().corruptible_results) {
      throw NotSupportedError(
          "the driver does not declare the capability 'corruptible_results'");
    }
    return damage("corrupt_result", task_id);
  }

 private:
  // Sends the test hook `op` ("corrupt", "corrupt_result") about `task_id` on a store handle
  // of its own: whether the driver damaged anything.
  bool damage(const char* op, const std::string& task_id) {
    const auto connection = shared_->connection();
    const std::uint64_t handle = connection->open_store(directory_);
    try {
      Json body = Json::object();
      body["id"] = 0;
      body["op"] = op;
      body["store"] = nullptr;
      body["task_id"] = exec_detail::encode_text(task_id);
      std::string context;
      const RequestSubject subject{.op = op, .task_id = task_id};
      const Json result = connection->call(handle, subject, std::move(body), false, &context);
      connection->close_store(handle);
      if (!result.is_boolean()) {
        throw StorageError(context + ": malformed answer: the result is not true or false: " +
                           exec_detail::quote(result.dump()));
      }
      return result.get<bool>();
    } catch (...) {
      connection->close_store(handle);
      throw;
    }
  }

  std::shared_ptr<ExecShared> shared_;
  fs::path directory_;
  const pid_t creator_ = ::getpid();
};

// "exec_" and the driver's name, with anything but letters, digits and '_' as '_'.
std::string backend_name(const std::string& declared) {
  std::string name = "exec";
  if (!declared.empty()) name += "_";
  for (const char c : declared) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    name += plain ? c : '_';
  }
  return name;
}


}  // namespace

std::chrono::milliseconds exec_timeout(const ExecOptions& options) {
  if (options.timeout) {
    if (options.timeout->count() <= 0) {
      throw std::invalid_argument("exec backend: the timeout must be positive");
    }
    return *options.timeout;
  }
  return suite_config().exec_timeout;
}

Backend exec_backend(std::string command, ExecOptions options) {
  if (command.find_first_not_of(" \t\n") == std::string::npos) {
    throw std::invalid_argument("exec backend: the command is empty (expected exec:CMD)");
  }
  const std::chrono::milliseconds timeout = exec_timeout(options);
  auto shared = std::make_shared<ExecShared>(std::move(command), timeout, options.store_parent);
  // Before the driver starts, so that the I/O-error sweep's faults, armed in this process,
  // fire in the driver (which inherits the layer through LD_PRELOAD).
  if (const auto layer = FaultLayer::loaded()) {
    shared->set_fault_layer_shared(layer->share_with_processes_started_later());
  }
  shared->set_handshake(shared->connection()->handshake());
  const Handshake& handshake = shared->handshake();
  return Backend{
      .name = options.name.empty() ? backend_name(handshake.backend) : options.name,
      // Without `concurrent` a driver has one request in flight: calls never overlap.
      .capabilities = {.persistent = handshake.persistent,
                       .multi_process = handshake.multi_process,
                       .concurrent_calls = handshake.concurrent,
                       .survives_power_loss = !handshake.process_crash_only,
                       .batch_claims = handshake.batch_claims,
                       .times = handshake.times},
      .make_environment = [shared] { return std::make_unique<ExecEnvironment>(shared); }};
}

}  // namespace taskstore::conformance
