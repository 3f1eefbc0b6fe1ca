#include "connection.hpp"

#include <unistd.h>

#include <algorithm>
#include <limits>
#include <optional>
#include <system_error>

#include "taskstore/conformance/exec_backend.hpp"
#include "taskstore/errors.hpp"

namespace taskstore::conformance::exec_detail {

namespace {

using namespace std::chrono_literals;

std::string show_duration(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + " s";
  return std::to_string(d.count()) + " ms";
}

std::string show_subject(const RequestSubject& subject) {
  std::string out = subject.op;
  if (subject.task_id) out += " of task '" + *subject.task_id + "'";
  return out;
}

SteadyTime steady_now() { return std::chrono::steady_clock::now(); }

// The request's line; a StorageError naming it if it can't be written as JSON.
std::string encode_request(const Json& request, const std::string& context) {
  try {
    return request.dump();
  } catch (const Json::exception& e) {
    throw StorageError(context + ": cannot encode the request: " + e.what());
  }
}

bool optional_flag(const Json& capabilities, const char* name, const std::string& what) {
  const auto it = capabilities.find(name);
  if (it == capabilities.end()) return false;
  if (!it->is_boolean()) {
    throw ProtocolError(what + ".capabilities." + name +
                        " is not true or false: " + quote(it->dump()));
  }
  return it->get<bool>();
}

// capabilities.times: {"earliest": µs, "latest": µs}, both integers, earliest ≤ latest.
TimeRange time_range(const Json& capabilities, const std::string& what) {
  const auto it = capabilities.find("times");
  if (it == capabilities.end()) return kWidestTimeRange;
  const auto bad = [&](const std::string& why) {
    return ProtocolError(what + ".capabilities.times " + why + ": " + quote(it->dump()));
  };
  if (!it->is_object()) throw bad("is not an object");
  const auto end = [&](const char* name) {
    const auto value = it->find(name);
    if (value == it->end() || !value->is_number_integer() ||
        (value->is_number_unsigned() &&
         value->get<std::uint64_t>() > std::uint64_t{std::numeric_limits<std::int64_t>::max()})) {
      throw bad(std::string("has no integer \"") + name + "\" (microseconds since the epoch)");
    }
    return from_micros(value->get<std::int64_t>());
  };
  const TimeRange range{end("earliest"), end("latest")};
  if (range.latest < range.earliest) throw bad("ends before it starts");
  if (!kWidestTimeRange.covers(range)) {
    throw bad("reaches past " + format_time_range(kWidestTimeRange) +
              " (±2^61 µs), the widest range the suite sends");
  }
  return range;
}

Handshake parse_handshake(const Json& result) {
  const std::string what = "the handshake's result";
  if (!result.is_object()) throw ProtocolError(what + " is not an object: " + quote(result.dump()));
  const auto protocol = result.find("protocol");
  if (protocol == result.end() || !protocol->is_number_integer()) {
    throw ProtocolError(what + " has no integer \"protocol\": " + quote(result.dump()));
  }
  Handshake out;
  out.protocol = protocol->get<int>();
  if (out.protocol < kExecOldestProtocolVersion || out.protocol > kExecProtocolVersion) {
    throw ProtocolError("the driver speaks protocol version " + std::to_string(out.protocol) +
                        "; this kit speaks versions " +
                        std::to_string(kExecOldestProtocolVersion) + " to " +
                        std::to_string(kExecProtocolVersion));
  }
  const auto backend = result.find("backend");
  if (backend != result.end()) out.backend = decode_text(*backend, what + ".backend");
  const auto capabilities = result.find("capabilities");
  if (capabilities != result.end()) {
    if (!capabilities->is_object()) {
      throw ProtocolError(what + ".capabilities is not an object: " + quote(capabilities->dump()));
    }
    out.persistent = optional_flag(*capabilities, "persistent", what);
    out.multi_process = optional_flag(*capabilities, "multi_process", what);
    out.corruptible = optional_flag(*capabilities, "corruptible", what);
    out.corruptible_results = optional_flag(*capabilities, "corruptible_results", what);
    out.clock = optional_flag(*capabilities, "clock", what);
    out.lockable = optional_flag(*capabilities, "lockable", what);
    out.process_crash_only = optional_flag(*capabilities, "process_crash_only", what);
    out.batch_claims = optional_flag(*capabilities, "batch_claims", what);
    // A version 1 driver never takes a second request before answering the first.
    out.concurrent = out.protocol >= 2 && optional_flag(*capabilities, "concurrent", what);
    out.times = time_range(*capabilities, what);
  }
  return out;
}

}  // namespace

Connection::Connection(std::string command, std::chrono::milliseconds timeout)
    : command_(std::move(command)), timeout_(timeout), owner_(::getpid()) {}

Connection::~Connection() {
  if (::getpid() != owner_) {
    // A forked child's copy: the driver and the threads belong to the parent, so they are
    // left alone (leaked on purpose) rather than stopped or joined from here.
    (void)new std::shared_ptr<DriverProcess>(std::move(driver_));
    (void)new std::shared_ptr<Flight>(std::move(flight_));
    (void)pool_.release();
    return;
  }
  if (pool_) pool_->join();
  if (driver_) driver_->stop(steady_now() + std::min<std::chrono::milliseconds>(timeout_, 5s));
}

std::string Connection::request_context(std::uint64_t id, const RequestSubject& subject) const {
  return show_subject(subject) + " (request " + std::to_string(id) + " to exec driver '" +
         command_ + "'" + (driver_ ? ", pid " + std::to_string(driver_->pid()) : std::string()) +
         ")";
}

void Connection::fail_and_kill(const std::string& context, const std::string& what) {
  if (driver_) {
    driver_->kill_now();
    driver_.reset();
  }
  flight_.reset();
  if (probing_) throw StorageError(context + ": " + what);
  throw StorageError(context + ": " + what +
                     "; the driver was killed and a new one starts with the next request");
}

Json Connection::exchange(Json request, const std::string& context) {
  const SteadyTime deadline = steady_now() + timeout_;
  const std::string line = encode_request(request, context);
  switch (driver_->write_line(line, deadline)) {
    case DriverProcess::Io::ok:
      break;
    case DriverProcess::Io::timed_out:
      fail_and_kill(context,
                    "the driver did not read the request within " + show_duration(timeout_));
    case DriverProcess::Io::closed:
    case DriverProcess::Io::too_long: {
      // What it wrote before it stopped reading says more than its exit status alone.
      std::string said;
      const bool wrote =
          driver_->read_line(said, std::min(deadline, steady_now() + 1s)) == DriverProcess::Io::ok;
      fail_and_kill(context, "the driver no longer reads its input (it " +
                                 driver_->wait_for_exit(std::min(deadline, steady_now() + 2s)) +
                                 (wrote ? ", after writing " + quote(said) : std::string()) + ")");
    }
  }
  std::string answer;
  switch (driver_->read_line(answer, deadline)) {
    case DriverProcess::Io::ok:
      break;
    case DriverProcess::Io::timed_out:
      fail_and_kill(context, "no answer within " + show_duration(timeout_));
    case DriverProcess::Io::closed:
      fail_and_kill(context, "the driver closed its output without answering (it " +
                                 driver_->wait_for_exit(std::min(deadline, steady_now() + 2s)) +
                                 ")");
    case DriverProcess::Io::too_long:
      fail_and_kill(context, "the answer runs past 64 MiB without a newline");
  }
  Json reply;
  try {
    reply = Json::parse(answer);
  } catch (const Json::exception&) {
    fail_and_kill(context, "the driver answered with a line that is not JSON: " + quote(answer));
  }
  if (!reply.is_object()) {
    fail_and_kill(context,
                  "the driver answered with a line that is not a JSON object: " + quote(answer));
  }
  const auto id = reply.find("id");
  if (id == reply.end() || *id != request["id"]) {
    fail_and_kill(context, "the driver answered with id " +
                               (id == reply.end() ? std::string("(none)") : id->dump()) +
                               " instead of " + request["id"].dump() + ": " + quote(answer));
  }
  return result_of(reply, answer, context);
}

// The result of an answer whose id matched, or the typed error it carries.
Json Connection::result_of(const Json& reply, const std::string& answer,
                           const std::string& context) {
  const auto ok = reply.find("ok");
  if (ok == reply.end() || !ok->is_boolean()) {
    throw StorageError(context +
                       ": malformed answer (\"ok\" is not true or false): " + quote(answer));
  }
  if (ok->get<bool>()) {
    const auto result = reply.find("result");
    return result == reply.end() ? Json(nullptr) : *result;
  }
  const auto error = reply.find("error");
  try {
    throw_error_answer(error == reply.end() ? Json(nullptr) : *error);
  } catch (const ProtocolError& e) {
    throw StorageError(context + ": malformed error answer: " + e.what() + ": " + quote(answer));
  }
}

void Connection::ensure_driver(std::unique_lock<std::mutex>& lock, const std::string& context,
                               bool on_pool) {
  if (driver_) return;
  try {
    driver_ = std::shared_ptr<DriverProcess>(DriverProcess::spawn(command_));
  } catch (const std::system_error& e) {
    throw StorageError(context + ": cannot start exec driver '" + command_ + "': " + e.what());
  }
  driver_spawned_on_pool_ = on_pool;
  ++generation_;
  const std::uint64_t id = next_request_++;
  const std::string hello_context = context + ": handshake (request " + std::to_string(id) +
                                    ") with exec driver '" + command_ + "', pid " +
                                    std::to_string(driver_->pid());
  Json hello = Json::object();
  hello["id"] = id;
  hello["op"] = "hello";
  hello["protocol"] = kExecProtocolVersion;
  Json result;
  try {
    result = exchange(std::move(hello), hello_context);
  } catch (const StorageError& e) {
    if (!driver_) throw;  // exchange killed it and said why
    const std::string message = e.what();
    if (message.starts_with(hello_context + ": ")) {  // a malformed answer
      fail_and_kill(hello_context, message.substr(hello_context.size() + 2));
    }
    fail_and_kill(hello_context, "the driver refused the handshake: " + message);
  }
  try {
    handshake_ = parse_handshake(result);
  } catch (const ProtocolError& e) {
    fail_and_kill(hello_context, e.what());
  }
  if (!handshake_->concurrent) return;
  // Every store this process has open is opened on the new driver now, one at a time, while
  // nothing else can be in flight on it (the lock is held throughout).
  for (auto& [id, handle] : handles_) {
    if (handle.generation == generation_) continue;
    try {
      handle.driver_handle = open_on_driver(lock, handle.directory, context + ": reopening");
      handle.generation = generation_;
    } catch (const std::exception&) {
      if (!driver_) throw;  // the new driver died too: this request fails, saying why
      // Left stale: the store's own next call opens it again and reports its own error.
    }
  }
  flight_ = std::make_shared<Flight>();
  flight_->driver = driver_;
}

Handshake Connection::handshake() {
  std::unique_lock lock(io_mutex_);
  probing_ = true;
  try {
    ensure_driver(lock, "exec backend", false);
  } catch (...) {
    probing_ = false;
    throw;
  }
  probing_ = false;
  return *handshake_;
}

Json Connection::round_trip(std::unique_lock<std::mutex>& lock, Json request,
                            const std::string& context) {
  if (flight_) return exchange_in_flight(lock, std::move(request), context);
  return exchange(std::move(request), context);
}

// Sends `request` to the concurrent driver and waits for its answer, reading the driver's
// output in turn with the other waiters. Whatever goes wrong on the driver fails every
// request in flight on it (fail_flight): its answers can no longer be trusted to arrive.
Json Connection::exchange_in_flight(std::unique_lock<std::mutex>& lock, Json request,
                                    const std::string& context) {
  const SteadyTime deadline = steady_now() + timeout_;
  const std::string line = encode_request(request, context);
  const std::shared_ptr<Flight> flight = flight_;
  const std::uint64_t id = request["id"].get<std::uint64_t>();
  Slot slot;
  flight->pending.emplace(id, &slot);
  // Leaves the slot unlisted on every way out (each with the lock held).
  struct Unlist {
    Flight& flight;
    std::uint64_t id;
    ~Unlist() { flight.pending.erase(id); }
  } unlist{*flight, id};

  lock.unlock();
  DriverProcess::Io written = DriverProcess::Io::ok;
  try {
    const std::lock_guard write_lock(flight->write_mutex);
    written = flight->driver->write_line(line, deadline);
  } catch (...) {
    lock.lock();  // a line may be half written: the driver's input is no longer framed
    fail_flight(*flight, "writing " + context + " failed");
    throw;
  }
  lock.lock();
  if (written == DriverProcess::Io::timed_out) {
    fail_flight(*flight, "the driver did not read " + context + " within " +
                             show_duration(timeout_));
  } else if (written != DriverProcess::Io::ok && !flight->failed) {
    fail_flight(*flight, "the driver no longer reads its input (it " +
                             flight->driver->wait_for_exit(std::min(deadline, steady_now() + 2s)) +
                             ")");
  }
  for (;;) {
    if (slot.reply) break;
    if (slot.failure) throw StorageError(context + ": " + *slot.failure);
    if (!flight->reading) {
      read_one_answer(lock, flight, deadline, context);
      continue;
    }
    if (answered_.wait_until(lock, deadline) == std::cv_status::timeout && !slot.reply &&
        !slot.failure) {
      fail_flight(*flight, "no answer within " + show_duration(timeout_) + " to " + context);
    }
  }
  return result_of(*slot.reply, slot.reply->dump(), context);
}

// Reads one line of the driver's output (the lock released meanwhile) and hands it to the
// request it answers.
void Connection::read_one_answer(std::unique_lock<std::mutex>& lock,
                                 const std::shared_ptr<Flight>& flight, SteadyTime deadline,
                                 const std::string& context) {
  flight->reading = true;
  const std::shared_ptr<DriverProcess> driver = flight->driver;
  lock.unlock();
  std::string line;
  DriverProcess::Io got = DriverProcess::Io::ok;
  try {
    got = driver->read_line(line, deadline);
  } catch (...) {
    lock.lock();
    flight->reading = false;
    fail_flight(*flight, "reading the driver's answers failed");
    throw;
  }
  lock.lock();
  flight->reading = false;
  answered_.notify_all();  // someone else may have to read now
  if (flight->failed) return;
  switch (got) {
    case DriverProcess::Io::ok:
      break;
    case DriverProcess::Io::timed_out:
      fail_flight(*flight, "no answer within " + show_duration(timeout_) + " to " + context);
      return;
    case DriverProcess::Io::closed:
      fail_flight(*flight, "the driver closed its output (it " +
                               driver->wait_for_exit(std::min(deadline, steady_now() + 2s)) +
                               ")");
      return;
    case DriverProcess::Io::too_long:
      fail_flight(*flight, "an answer runs past 64 MiB without a newline");
      return;
  }
  Json reply;
  try {
    reply = Json::parse(line);
  } catch (const Json::exception&) {
    fail_flight(*flight, "the driver answered with a line that is not JSON: " + quote(line));
    return;
  }
  const auto id = reply.is_object() ? reply.find("id") : reply.end();
  const auto waiting = (id != reply.end() && id->is_number_unsigned())
                           ? flight->pending.find(id->get<std::uint64_t>())
                           : flight->pending.end();
  if (waiting == flight->pending.end()) {
    fail_flight(*flight, "the driver answered with an id no request in flight has: " + quote(line));
    return;
  }
  waiting->second->reply = std::move(reply);
  flight->pending.erase(waiting);
}

// Kills the driver of `flight` (if it still is the current one) and fails every request in
// flight on it; the next request starts a new driver.
void Connection::fail_flight(Flight& flight, const std::string& why) {
  if (flight.failed) return;
  flight.failed = true;
  flight.driver->kill_now();
  if (driver_ == flight.driver) {
    driver_.reset();
    flight_.reset();
  }
  const std::string failure =
      why + "; the driver was killed and a new one starts with the next request";
  for (auto& [id, slot] : flight.pending) slot->failure = failure;
  flight.pending.clear();
  answered_.notify_all();
}

Json Connection::open_on_driver(std::unique_lock<std::mutex>& lock,
                                const std::filesystem::path& directory,
                                const std::string& context) {
  const std::uint64_t id = next_request_++;
  const std::string open_context = context + ": open of store " + directory.string() +
                                   " (request " + std::to_string(id) + " to exec driver '" +
                                   command_ + "', pid " + std::to_string(driver_->pid()) + ")";
  Json request = Json::object();
  request["id"] = id;
  request["op"] = "open";
  request["path"] = encode_text(directory.string());
  const Json result = round_trip(lock, std::move(request), open_context);
  const auto store = result.is_object() ? result.find("store") : result.end();
  if (store == result.end() || !(store->is_number_integer() || store->is_string())) {
    throw StorageError(open_context +
                       ": malformed answer: the result has no \"store\" handle "
                       "(an integer or a string): " +
                       quote(result.dump()));
  }
  return *store;
}

std::uint64_t Connection::open_store(const std::filesystem::path& directory) {
  std::unique_lock lock(io_mutex_);
  const std::string context = "open of store " + directory.string();
  ensure_driver(lock, context, false);
  const std::uint64_t generation = generation_;
  Json driver_handle = open_on_driver(lock, directory, "exec backend");
  const std::uint64_t id = next_handle_++;
  handles_.emplace(id, StoreHandle{.directory = directory,
                                   .generation = generation,
                                   .driver_handle = std::move(driver_handle)});
  return id;
}

void Connection::close_store(std::uint64_t handle) noexcept {
  try {
    std::unique_lock lock(io_mutex_);
    const auto it = handles_.find(handle);
    if (it == handles_.end()) return;
    const StoreHandle closing = std::move(it->second);
    handles_.erase(it);
    if (!driver_ || closing.generation != generation_) return;
    const std::uint64_t id = next_request_++;
    Json request = Json::object();
    request["id"] = id;
    request["op"] = "close";
    request["store"] = closing.driver_handle;
    const RequestSubject subject{.op = "close", .task_id = std::nullopt};
    round_trip(lock, std::move(request), request_context(id, subject));
  } catch (...) {
    // A driver that fails to close a store has been dealt with (killed) on the way.
  }
}

// The entry of `handle`, open on the current driver: starts a driver if none runs and
// reopens the store on it if it was opened on an earlier one. On a concurrent driver the
// reopen lets go of the lock, so everything is looked at again after it; one call reopens a
// store while the others that need it wait.
std::map<std::uint64_t, Connection::StoreHandle>::iterator Connection::current_handle(
    std::unique_lock<std::mutex>& lock, std::uint64_t handle, const RequestSubject& subject,
    bool on_pool) {
  for (;;) {
    auto it = handles_.find(handle);
    if (it == handles_.end()) {
      throw StorageError(show_subject(subject) + ": the exec store was closed");
    }
    ensure_driver(lock, show_subject(subject), on_pool);
    it = handles_.find(handle);  // a reopen of every store may have come and gone
    if (it == handles_.end()) {
      throw StorageError(show_subject(subject) + ": the exec store was closed");
    }
    if (it->second.generation == generation_) return it;
    if (it->second.reopening) {
      answered_.wait(lock);
      continue;
    }
    it->second.reopening = true;
    const std::uint64_t generation = generation_;
    const std::filesystem::path directory = it->second.directory;
    Json reopened;
    try {
      reopened = open_on_driver(lock, directory, show_subject(subject) + ": reopening the store");
    } catch (...) {
      if (const auto again = handles_.find(handle); again != handles_.end()) {
        again->second.reopening = false;
      }
      answered_.notify_all();
      throw;
    }
    it = handles_.find(handle);
    if (it != handles_.end()) {
      it->second.reopening = false;
      if (driver_ && generation_ == generation) {
        it->second.driver_handle = std::move(reopened);
        it->second.generation = generation;
      }
    }
    answered_.notify_all();
  }
}

Json Connection::call(std::uint64_t handle, const RequestSubject& subject, Json body, bool on_pool,
                      std::string* context) {
  std::unique_lock lock(io_mutex_);
  const auto it = current_handle(lock, handle, subject, on_pool);
  // The lock is held from here to the request's dispatch: the driver and the entry stay.
  const std::uint64_t id = next_request_++;
  body["id"] = id;
  body["store"] = it->second.driver_handle;
  const std::string description = request_context(id, subject);
  if (context) *context = description;
  return round_trip(lock, std::move(body), description);
}

boost::asio::thread_pool::executor_type Connection::retain_pool() {
  bool concurrent = false;
  {
    const std::lock_guard io_lock(io_mutex_);
    concurrent = handshake_ && handshake_->concurrent;
  }
  const std::lock_guard lock(pool_mutex_);
  if (pool_users_ == 0) {
    pool_ = std::make_unique<boost::asio::thread_pool>(concurrent ? kConcurrentCalls : 1);
  }
  ++pool_users_;
  return pool_->get_executor();
}

void Connection::release_pool() noexcept {
  const std::lock_guard lock(pool_mutex_);
  if (--pool_users_ > 0) return;
  {
    // A driver started on a pool thread gets SIGKILL when that thread ends: stop it
    // cleanly first (no instance is open, so it is idle). The next open starts another.
    const std::lock_guard io_lock(io_mutex_);
    if (driver_ && driver_spawned_on_pool_) {
      // No write may be under way while the driver's input closes (none should be: no
      // instance is open).
      std::unique_lock<std::mutex> write_lock;
      if (flight_) write_lock = std::unique_lock(flight_->write_mutex);
      driver_->stop(steady_now() + std::min<std::chrono::milliseconds>(timeout_, 5s));
      write_lock = {};
      driver_.reset();
      flight_.reset();
    }
  }
  if (pool_) {
    pool_->join();
    pool_.reset();
  }
}

}  // namespace taskstore::conformance::exec_detail
