#pragma once
// What every harness in fuzz/ shares: the libFuzzer entry point it defines, a scratch
// directory for stores (under /dev/shm when it exists, so fsyncs cost nothing), and the
// way a harness reports a broken requirement (a message naming its ID, then abort(), which
// libFuzzer and the replay program both treat as a crash).

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

// Defined once per harness; called by libFuzzer, or by replay_main.cpp in ordinary builds.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace taskstore::fuzz {

// A directory private to this process, made on first use (mkdtemp under /dev/shm if it
// exists and is writable, else under the system temp directory) and removed with
// everything in it at exit. Harnesses make a fresh store inside it per input.
const std::filesystem::path& scratch_directory();

// A name not used before in this process, for a store inside scratch_directory().
std::string fresh_name(std::string_view prefix);

// Prints "fuzz: <requirement> violated: <message>" to stderr, removes the scratch
// directory, and aborts.
[[noreturn]] void fail(std::string_view requirement, const std::string& message);
// The same for a report that already names the requirement ("DEQ-4 violated ...").
[[noreturn]] void fail_report(const std::string& report);
// For a failure of the harness or its environment (no scratch space, ...), not a finding.
[[noreturn]] void fail_harness(const std::string& what);

// A printable, escaped, shortened copy of arbitrary bytes, for messages.
std::string printable(std::string_view bytes, std::size_t limit = 80);

}  // namespace taskstore::fuzz
