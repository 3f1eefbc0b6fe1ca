// The exec backend against drivers that misbehave on purpose (a small Python script this
// test writes, one behaviour per mode): each failure is a StorageError naming the request,
// finished well within the (low) timeout, and the next request gets a fresh driver.
// Also the protocol's encodings, the handshake's checks, the usage error of an empty
// command, and that a driver dies with the process that started it.
#include "taskstore/conformance/exec_backend.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "child_process.hpp"
#include "exec_protocol.hpp"
#include "taskstore/sync_wait.hpp"

namespace taskstore::conformance {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A driver for these tests only. Argument 1 is the mode, argument 2 a marker file: the
// misbehaviour happens once (the first time in a test), so the restarted driver answers.
constexpr const char* kFakeDriver = R"PY(
import json, os, sys, time

mode = sys.argv[1]
marker = sys.argv[2]

def first_time():
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        return True
    except FileExistsError:
        return False

def send(answer):
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()

if mode == "exit_at_start":
    sys.exit(4)
held = []  # v2_reorder: get_task requests not answered yet
for line in sys.stdin:
    request = json.loads(line)
    rid, op = request["id"], request["op"]
    if op == "hello":
        if mode == "hello_not_json":
            print("hello, I am not JSON", flush=True)
            continue
        if mode == "hello_silent":
            time.sleep(3600)
        v2 = mode.startswith("v2_")
        capabilities = {"persistent": False, "multi_process": False, "concurrent": v2}
        if mode == "datetime_times":
            capabilities["times"] = {"earliest": -62135596800000000, "latest": 253402300799999999}
        if mode == "backwards_times":
            capabilities["times"] = {"earliest": 5, "latest": 4}
        if mode == "float_times":
            capabilities["times"] = {"earliest": 0.5, "latest": 4}
        if mode == "any_int64_times":
            capabilities["times"] = {"earliest": -2**63, "latest": 2**64 - 1}
        send({"id": rid, "ok": True, "result": {
            "protocol": 3 if mode == "protocol3" else 2 if v2 else 1, "backend": "fake driver",
            "capabilities": capabilities}})
    elif op == "open":
        with open(marker + ".pids", "a") as f:
            f.write("%d\n" % os.getpid())
        if mode == "write_pid":
            with open(marker, "w") as f:
                f.write(str(os.getpid()))
        send({"id": rid, "ok": True, "result": {"store": 7}})
    elif op == "close":
        send({"id": rid, "ok": True, "result": None})
    elif op == "get_task" and mode == "v2_reorder":
        # Answers nothing until four requests are in flight, then all four, last first.
        held.append(request)
        if len(held) == 4:
            for r in reversed(held):
                send({"id": r["id"], "ok": False, "error": {
                    "type": "not_found", "message": "no task '%s'" % r["task_id"]}})
            held = []
    elif op == "get_task" and mode == "v2_hang" and request["task_id"] == "hang":
        if first_time():
            continue  # never answered; the requests after it are
        send({"id": rid, "ok": True, "result": None})
    elif op == "get_task":
        if mode == "hang" and first_time():
            time.sleep(3600)
        if mode == "crash" and first_time():
            sys.exit(3)
        if mode == "malformed" and first_time():
            print("{this is not json", flush=True)
            continue
        if mode == "wrong_id" and first_time():
            send({"id": rid + 1, "ok": True, "result": None})
            continue
        if mode == "errors" and request["task_id"] != "after":
            kind = request["task_id"]
            send({"id": rid, "ok": False, "error": {
                "type": kind, "message": "get_task: task '%s' fails with %s" % (kind, kind)}})
            continue
        if mode == "bad_task":
            send({"id": rid, "ok": True, "result": {"id": request["task_id"]}})
            continue
        send({"id": rid, "ok": True, "result": None})
    else:
        send({"id": rid, "ok": False, "error": {
            "type": "storage", "message": op + ": not supported by the fake driver"}})
)PY";

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class ExecBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(TASKSTORE_PYTHON3)) GTEST_SKIP() << "no python3 at " << TASKSTORE_PYTHON3;
    std::string pattern = (fs::temp_directory_path() / "exec-backend-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    std::ofstream(dir_ / "fake_driver.py") << kFakeDriver;
  }
  void TearDown() override {
    store_.reset();
    environment_.reset();
    std::error_code ignored;
    if (!dir_.empty()) fs::remove_all(dir_, ignored);
  }

  std::string command(const std::string& mode) const {
    return std::string(TASKSTORE_PYTHON3) + " '" + (dir_ / "fake_driver.py").string() + "' " +
           mode + " '" + (dir_ / "marker").string() + "'";
  }

  // A backend on the fake driver in `mode` and a store opened on it. The timeout is low
  // where a test waits for it to pass, and generous elsewhere (a loaded machine may take
  // a while to start Python).
  void open(const std::string& mode, std::chrono::milliseconds timeout = 20s) {
    backend_ = exec_backend(command(mode), options(timeout));
    environment_ = backend_.make_environment();
    store_ = environment_->open();
  }

  ExecOptions options(std::chrono::milliseconds timeout = 20s) const {
    return ExecOptions{.timeout = timeout, .store_parent = dir_ / "stores"};
  }

  // The message of the StorageError that get_task(id) raises ("" and a failure if none).
  std::string get_task_failure(const std::string& id) {
    try {
      sync_wait(io_, store_->get_task(id));
    } catch (const NotFoundError& e) {
      ADD_FAILURE() << "a NotFoundError instead of a plain StorageError: " << e.what();
    } catch (const StorageError& e) {
      return e.what();
    }
    ADD_FAILURE() << "get_task('" << id << "') did not fail";
    return "";
  }

  // The request is named: operation, task id, request number, driver command.
  static void expect_names_the_request(const std::string& message, const std::string& id) {
    EXPECT_TRUE(contains(message, "get_task")) << message;
    EXPECT_TRUE(contains(message, "task '" + id + "'")) << message;
    EXPECT_TRUE(contains(message, "(request ")) << message;
    EXPECT_TRUE(contains(message, "fake_driver.py")) << message;
  }

  void expect_next_request_works() {
    EXPECT_FALSE(sync_wait(io_, store_->get_task("after")).has_value())
        << "the next request did not reach a fresh driver";
  }

  fs::path dir_;
  Backend backend_;
  std::unique_ptr<StoreEnvironment> environment_;
  std::shared_ptr<BaseStorage> store_;
  boost::asio::io_context io_;
};

TEST_F(ExecBackendTest, HangingDriver_TimesOutNamingTheRequest_ThenRestarts) {
  open("hang", 3s);
  const std::string message = get_task_failure("t-hang");
  expect_names_the_request(message, "t-hang");
  EXPECT_TRUE(contains(message, "no answer within 3 s")) << message;
  EXPECT_TRUE(contains(message, "killed")) << message;
  expect_next_request_works();
}

// A compound command runs as given, not as `exec ...`: the shell stays between the kit and
// the driver, and a kill must still reach the driver (its process group).
TEST_F(ExecBackendTest, HangingDriverOfACompoundCommand_IsKilledWithItsShell) {
  backend_ = exec_backend("cd '" + dir_.string() + "' && " + command("hang"), options(3s));
  environment_ = backend_.make_environment();
  store_ = environment_->open();
  std::ifstream pids(dir_ / "marker.pids");
  pid_t driver = 0;
  pids >> driver;
  ASSERT_GT(driver, 0);
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, driver, 0));
  ASSERT_GE(pidfd, 0) << "the driver is not running";
  const std::string message = get_task_failure("t-hang");
  EXPECT_TRUE(contains(message, "no answer within 3 s")) << message;
  pollfd p{.fd = pidfd, .events = POLLIN, .revents = 0};
  EXPECT_EQ(::poll(&p, 1, 60'000), 1) << "the hanging driver survived its shell";
  ::close(pidfd);
  expect_next_request_works();
}

TEST_F(ExecBackendTest, CrashingDriver_ReportsItsExitNamingTheRequest_ThenRestarts) {
  open("crash");
  const std::string message = get_task_failure("t-crash");
  expect_names_the_request(message, "t-crash");
  EXPECT_TRUE(contains(message, "closed its output without answering")) << message;
  EXPECT_TRUE(contains(message, "exited with code 3")) << message;
  expect_next_request_works();
}

TEST_F(ExecBackendTest, MalformedLine_IsReportedWithTheLine_ThenRestarts) {
  open("malformed");
  const std::string message = get_task_failure("t-malformed");
  expect_names_the_request(message, "t-malformed");
  EXPECT_TRUE(contains(message, "not JSON")) << message;
  EXPECT_TRUE(contains(message, "{this is not json")) << message;
  expect_next_request_works();
}

TEST_F(ExecBackendTest, AnswerWithAnotherId_IsReported_ThenRestarts) {
  open("wrong_id");
  const std::string message = get_task_failure("t-order");
  expect_names_the_request(message, "t-order");
  EXPECT_TRUE(contains(message, "answered with id")) << message;
  expect_next_request_works();
}

TEST_F(ExecBackendTest, MalformedTask_IsAStorageErrorNamingTheField) {
  open("bad_task");
  const std::string message = get_task_failure("t-bad");
  expect_names_the_request(message, "t-bad");
  EXPECT_TRUE(contains(message, "malformed answer")) << message;
  EXPECT_TRUE(contains(message, "\"name\"")) << message;
}

TEST_F(ExecBackendTest, ErrorAnswers_BecomeTheTypedErrors_WithTheDriversMessage) {
  open("errors");
  const auto message_of = [&](const std::string& type) -> std::string {
    try {
      sync_wait(io_, store_->get_task(type));
    } catch (const StorageError& e) {
      return e.what();
    }
    return "(no error)";
  };
  EXPECT_THROW(sync_wait(io_, store_->get_task("not_found")), NotFoundError);
  EXPECT_THROW(sync_wait(io_, store_->get_task("conflict")), ConflictError);
  EXPECT_THROW(sync_wait(io_, store_->get_task("corruption")), CorruptionError);
  EXPECT_THROW(sync_wait(io_, store_->get_task("invalid_argument")), InvalidArgumentError);
  EXPECT_THROW(sync_wait(io_, store_->get_task("storage")), StorageError);
  EXPECT_EQ(message_of("not_found"), "get_task: task 'not_found' fails with not_found");
  const std::string unknown = message_of("surprise");
  EXPECT_TRUE(contains(unknown, "is not one of")) << unknown;
  EXPECT_TRUE(contains(unknown, "surprise")) << unknown;
  expect_next_request_works();
}

TEST_F(ExecBackendTest, Handshake_WrongProtocolVersion_FailsToOpen) {
  try {
    exec_backend(command("protocol3"), options());
    ADD_FAILURE() << "a driver speaking protocol 3 was accepted";
  } catch (const StorageError& e) {
    EXPECT_TRUE(contains(e.what(), "protocol version 3")) << e.what();
    EXPECT_TRUE(contains(e.what(), "versions 1 to 2")) << e.what();
    EXPECT_TRUE(contains(e.what(), "handshake")) << e.what();
  }
}

// The `get_task` calls of `ids`, each on its own thread at once, on store_; returns each
// one's outcome: "not found: <message>", "none", or "error: <message>".
std::map<std::string, std::string> get_tasks_at_once(BaseStorage& store,
                                                     const std::vector<std::string>& ids) {
  std::mutex mutex;
  std::map<std::string, std::string> outcomes;
  std::vector<std::thread> threads;
  for (const std::string& id : ids) {
    threads.emplace_back([&, id] {
      boost::asio::io_context io;
      std::string outcome;
      try {
        outcome = sync_wait(io, store.get_task(id)) ? "a task" : "none";
      } catch (const NotFoundError& e) {
        outcome = std::string("not found: ") + e.what();
      } catch (const std::exception& e) {
        outcome = std::string("error: ") + e.what();
      }
      const std::lock_guard lock(mutex);
      outcomes[id] = outcome;
    });
  }
  for (auto& thread : threads) thread.join();
  return outcomes;
}

TEST_F(ExecBackendTest, ConcurrentDriver_GetsRequestsInFlightTogether_AndAnswersMatchById) {
  open("v2_reorder");
  EXPECT_TRUE(backend_.capabilities.concurrent_calls)
      << "a protocol 2 driver that declares 'concurrent' takes overlapping calls";
  // The driver answers only once four requests are in flight, and then last first: each
  // caller must still get the answer to its own request.
  const auto outcomes = get_tasks_at_once(*store_, {"a", "b", "c", "d"});
  for (const char* id : {"a", "b", "c", "d"}) {
    EXPECT_EQ(outcomes.at(id), "not found: no task '" + std::string(id) + "'") << id;
  }
}

TEST_F(ExecBackendTest, ConcurrentDriver_ARequestWithNoAnswer_TimesOutAndTheDriverRestarts) {
  open("v2_hang", 2s);
  const auto outcomes = get_tasks_at_once(*store_, {"hang", "x", "y"});
  const std::string& lost = outcomes.at("hang");
  EXPECT_TRUE(contains(lost, "no answer within 2 s to get_task of task 'hang'")) << lost;
  EXPECT_TRUE(contains(lost, "a new one starts")) << lost;
  for (const char* id : {"x", "y"}) {
    // Answered at once, or failed with the driver that the lost answer brought down.
    EXPECT_TRUE(outcomes.at(id) == "none" || contains(outcomes.at(id), "was killed"))
        << id << ": " << outcomes.at(id);
  }
  EXPECT_FALSE(sync_wait(io_, store_->get_task("hang")).has_value())
      << "the next request did not reach a fresh driver";
}

TEST_F(ExecBackendTest, Handshake_NotJson_FailsToOpen) {
  try {
    exec_backend(command("hello_not_json"), options());
    ADD_FAILURE() << "a handshake that is not JSON was accepted";
  } catch (const StorageError& e) {
    EXPECT_TRUE(contains(e.what(), "not JSON")) << e.what();
    EXPECT_TRUE(contains(e.what(), "hello, I am not JSON")) << e.what();
  }
}

TEST_F(ExecBackendTest, Handshake_SilentDriver_TimesOut) {
  try {
    exec_backend(command("hello_silent"), options(3s));
    ADD_FAILURE() << "a driver that never answered the handshake was accepted";
  } catch (const StorageError& e) {
    EXPECT_TRUE(contains(e.what(), "handshake")) << e.what();
    EXPECT_TRUE(contains(e.what(), "no answer within 3 s")) << e.what();
  }
}

TEST_F(ExecBackendTest, Handshake_DriverExits_FailsToOpenWithItsExitStatus) {
  try {
    exec_backend(command("exit_at_start"), options());
    ADD_FAILURE() << "a driver that exited was accepted";
  } catch (const StorageError& e) {
    EXPECT_TRUE(contains(e.what(), "exited with code 4")) << e.what();
  }
}

TEST_F(ExecBackendTest, Handshake_CommandNotFound_FailsToOpen) {
  try {
    exec_backend((dir_ / "no-such-driver").string(), options());
    ADD_FAILURE() << "a command that does not exist was accepted";
  } catch (const StorageError& e) {
    EXPECT_TRUE(contains(e.what(), "exited with code 127")) << e.what();
  }
}

TEST_F(ExecBackendTest, Name_AndCapabilities_ComeFromTheHandshake) {
  open("good");
  EXPECT_EQ(backend_.name, "exec_fake_driver");
  EXPECT_FALSE(backend_.capabilities.persistent);
  EXPECT_FALSE(backend_.capabilities.multi_process);
  EXPECT_FALSE(backend_.capabilities.concurrent_calls)
      << "a driver without 'concurrent' answers one request at a time: nothing overlaps";
  EXPECT_EQ(environment_->open_with_clock([] { return Timestamp{}; }), nullptr)
      << "the driver does not declare 'clock'";
  EXPECT_THROW(environment_->corrupt_task("x"), NotSupportedError)
      << "the driver does not declare 'corruptible'";
  EXPECT_THROW(environment_->corrupt_result("x"), NotSupportedError)
      << "the driver does not declare 'corruptible_results'";
  EXPECT_THROW(environment_->hold_write_lock(), NotSupportedError)
      << "the driver does not declare 'lockable'";
  EXPECT_TRUE(contains(environment_->location(), (dir_ / "stores").string()));
}

TEST_F(ExecBackendTest, Handshake_TimeRange_IsTheDriversOrTheWidest) {
  open("good");
  EXPECT_EQ(backend_.capabilities.times, kWidestTimeRange) << "no `times`: the widest range";
  store_.reset();
  environment_.reset();
  open("datetime_times");
  EXPECT_EQ(backend_.capabilities.times, kContractTimeRange);
  for (const char* mode : {"backwards_times", "float_times", "any_int64_times"}) {
    try {
      exec_backend(command(mode), options());
      ADD_FAILURE() << mode << ": a malformed time range was accepted";
    } catch (const StorageError& e) {
      EXPECT_TRUE(contains(e.what(), "capabilities.times")) << e.what();
    }
  }
}

TEST_F(ExecBackendTest, EmptyCommand_IsAUsageError) {
  EXPECT_THROW(exec_backend(""), std::invalid_argument);
  EXPECT_THROW(exec_backend("  "), std::invalid_argument);
  for (const char* spec : {"exec:", "'exec:  '"}) {
    const std::string run = std::string("'") + TASKSTORE_CONFORMANCE_PROGRAM + "' --backend " +
                            spec + " > '" + (dir_ / "usage.txt").string() + "' 2>&1";
    const int status = std::system(run.c_str());
    ASSERT_TRUE(WIFEXITED(status)) << run;
    EXPECT_EQ(WEXITSTATUS(status), 2) << run;
    std::ifstream in(dir_ / "usage.txt");
    const std::string output((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
    EXPECT_TRUE(contains(output, "exec")) << output;
  }
}

TEST_F(ExecBackendTest, TimeoutFromTheEnvironment) {
  ::setenv("TASKSTORE_EXEC_TIMEOUT", "0.5", 1);
  EXPECT_EQ(exec_timeout(ExecOptions{}), 500ms);
  EXPECT_EQ(exec_timeout(ExecOptions{.timeout = 3s}), 3s) << "an explicit timeout wins";
  ::setenv("TASKSTORE_EXEC_TIMEOUT", "soon", 1);
  EXPECT_THROW(exec_timeout(ExecOptions{}), std::invalid_argument);
  ::unsetenv("TASKSTORE_EXEC_TIMEOUT");
  EXPECT_EQ(exec_timeout(ExecOptions{}), kDefaultExecTimeout);
}

// PR_SET_PDEATHSIG: a driver started by a process that is SIGKILLed dies with it, so it
// can never finish a write after a crash test killed its process.
TEST_F(ExecBackendTest, Driver_DiesWithTheProcessThatStartedIt) {
  backend_ = exec_backend(command("write_pid"), options());
  environment_ = backend_.make_environment();
  const fs::path pid_file = dir_ / "marker";
  detail::Pipe ready = detail::make_pipe();
  detail::ChildProcess child = detail::ChildProcess::fork([&] {
    ready.read.close();
    const auto store = environment_->open();  // this process's own driver
    detail::write_line(ready.write.get(), "open");
    ::pause();
    return 0;
  });
  ready.write.close();
  detail::LineReader reader(std::move(ready.read));
  std::string line;
  ASSERT_EQ(reader.next(line, std::chrono::steady_clock::now() + 60s),
            detail::LineReader::Status::line);
  std::string pid_text;
  std::ifstream(pid_file) >> pid_text;
  const pid_t driver = static_cast<pid_t>(std::stol(pid_text));
  ASSERT_GT(driver, 0);
  ASSERT_NE(driver, child.pid());

  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, driver, 0));
  ASSERT_GE(pidfd, 0) << "the child's driver is not running";
  child.kill();
  ASSERT_TRUE(child.wait(std::chrono::steady_clock::now() + 60s).has_value());
  pollfd p{.fd = pidfd, .events = POLLIN, .revents = 0};
  EXPECT_EQ(::poll(&p, 1, 60'000), 1) << "the driver outlived the process that started it";
  ::close(pidfd);
}

TEST(ExecProtocolTest, Base64_RoundTripsEveryLength) {
  std::string bytes;
  for (int n = 0; n < 70; ++n) {
    EXPECT_EQ(exec_detail::decode_base64(exec_detail::encode_base64(bytes), "x"), bytes);
    bytes += static_cast<char>(n * 37);
  }
  EXPECT_EQ(exec_detail::encode_base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(exec_detail::encode_base64("fo"), "Zm8=");
  EXPECT_THROW(exec_detail::decode_base64("Zm8", "x"), exec_detail::ProtocolError);
  EXPECT_THROW(exec_detail::decode_base64("Zm=8", "x"), exec_detail::ProtocolError);
  EXPECT_THROW(exec_detail::decode_base64("Z!8=", "x"), exec_detail::ProtocolError);
}

TEST(ExecProtocolTest, Text_IsAStringWhenUtf8_ElseBase64) {
  EXPECT_EQ(exec_detail::encode_text("caf\xc3\xa9").dump(), "\"caf\xc3\xa9\"");
  EXPECT_EQ(exec_detail::encode_text(std::string("a\0b", 3)).dump(), "\"a\\u0000b\"");
  const std::string invalid = "bad\xff";
  const auto encoded = exec_detail::encode_text(invalid);
  EXPECT_TRUE(encoded.is_object()) << encoded.dump();
  EXPECT_EQ(exec_detail::decode_text(encoded, "x"), invalid);
  EXPECT_FALSE(exec_detail::is_valid_utf8("\xed\xa0\x80")) << "a surrogate";
  EXPECT_FALSE(exec_detail::is_valid_utf8("\xc0\xaf")) << "an overlong '/'";
}

TEST(ExecProtocolTest, Task_RoundTripsEveryField) {
  Task task;
  task.id = "t\xc3\xa4";
  task.name = "n\xff";
  task.payload = to_bytes(std::string("\0\x01\xff", 3));
  task.status = TaskStatus::RETRYING;
  task.eta = from_micros(-(std::int64_t{1} << 61));
  task.attempts = 2147483647;
  task.max_retries = 3;
  task.retry = RetryPolicy{.backoff = RetryPolicy::Backoff::exponential,
                           .delay = Duration{5},
                           .max_delay = Duration{std::int64_t{1} << 60},
                           .jitter = true};
  task.schedule = IntervalSchedule{Duration{90'000'000}};
  task.last_error = "";
  task.created_at = from_micros(1);
  task.updated_at = from_micros(std::int64_t{1} << 61);
  const auto wire = exec_detail::Json::parse(exec_detail::encode_task(task).dump());
  EXPECT_EQ(exec_detail::decode_task(wire, "task"), task);

  TaskResult result{.task_id = "r",
                    .status = TaskStatus::FAILED,
                    .value = to_bytes("v"),
                    .error = std::nullopt,
                    .finished_at = from_micros(-5)};
  const auto result_wire = exec_detail::Json::parse(exec_detail::encode_result(result).dump());
  EXPECT_EQ(exec_detail::decode_result(result_wire, "result"), result);
}

}  // namespace
}  // namespace taskstore::conformance
