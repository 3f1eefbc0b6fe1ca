#include "taskstore/conformance/registry.hpp"

#include "taskstore/errors.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace taskstore::conformance {

namespace {
std::vector<Backend>& registry() {
  static std::vector<Backend> backends;
  return backends;
}

bool is_valid_name(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_';
  });
}
}  // namespace

void PrintTo(const Backend& backend, std::ostream* os) { *os << backend.name; }

std::unique_ptr<HeldLock> StoreEnvironment::hold_write_lock() {
  throw NotSupportedError("the backend's environment does not implement hold_write_lock");
}

std::string describe_capabilities(const Capabilities& capabilities) {
  std::string flags;
  const auto add = [&flags](bool declared, const char* name) {
    if (declared) flags += (flags.empty() ? "" : ", ") + std::string(name);
  };
  add(capabilities.persistent, "persistent");
  add(capabilities.multi_process, "multi_process");
  add(capabilities.concurrent_calls, "concurrent_calls");
  add(capabilities.batch_claims, "batch_claims");
  add(capabilities.persistent && !capabilities.survives_power_loss,
      "survives a process crash only, not a power loss");
  if (flags.empty()) flags = "no optional capability";
  return flags + "; times " + format_time_range(capabilities.times);
}

void register_backend(Backend backend) {
  if (!is_valid_name(backend.name)) {
    throw std::invalid_argument("conformance backend name '" + backend.name +
                                "' must be non-empty letters, digits and '_'");
  }
  const TimeRange& times = backend.capabilities.times;
  if (times.latest < times.earliest || !kWidestTimeRange.covers(times)) {
    throw std::invalid_argument("conformance backend '" + backend.name + "' declares times " +
                                format_time_range(times) + ": a range inside " +
                                format_time_range(kWidestTimeRange) + " is expected");
  }
  if (!backend.make_environment) {
    throw std::invalid_argument("conformance backend '" + backend.name + "' has no factory");
  }
  auto& backends = registry();
  if (std::any_of(backends.begin(), backends.end(),
                  [&](const Backend& b) { return b.name == backend.name; })) {
    throw std::invalid_argument("conformance backend '" + backend.name +
                                "' is registered twice");
  }
  backends.push_back(std::move(backend));
}

const std::vector<Backend>& registered_backends() { return registry(); }

void clear_registered_backends() { registry().clear(); }

}  // namespace taskstore::conformance
