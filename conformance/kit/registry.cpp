#include "taskstore/conformance/registry.hpp"

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

void register_backend(Backend backend) {
  if (!is_valid_name(backend.name)) {
    throw std::invalid_argument("conformance backend name '" + backend.name +
                                "' must be non-empty letters, digits and '_'");
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
