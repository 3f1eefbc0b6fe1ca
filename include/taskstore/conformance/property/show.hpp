#pragma once
// Readable text for property-test steps and failure messages: times relative to the
// sequences' start (t0+5s-1us), quoted and escaped ids and bytes, one-line tasks.
// Part of taskstore::conformance.

#include <string>
#include <string_view>

#include "taskstore/task.hpp"
#include "taskstore/time.hpp"

namespace taskstore::conformance {

// "t0", "t0+5s", "t0+5s-1us", "t0-1767225600s" (t0 is generators::kT0).
std::string show_time(Timestamp t);
// "+1s", "+1us", "-5s".
std::string show_duration(Duration d);
// A double-quoted string, bytes outside printable ASCII escaped as \xNN, long ones cut.
std::string show_text(std::string_view text);
std::string show_bytes(const Bytes& bytes);
// The fields of a task that differ from a plain one, e.g.
// {"t1" eta=t0+5s attempts=2 status=RUNNING payload="a\x00b"}. A non-empty `eta_text`
// stands for the eta (a command's symbolic time); likewise `finished_at_text`.
std::string show_task(const Task& task, std::string_view eta_text = {});
std::string show_result(const TaskResult& result, std::string_view finished_at_text = {});

}  // namespace taskstore::conformance
