// taskstore-conformance with deliberately broken backends added, for the self-test.
#include "broken_backends.hpp"
#include "taskstore/conformance/memory_backend.hpp"

int main(int argc, char** argv) {
  namespace tc = taskstore::conformance;
  std::vector<tc::BackendScheme> schemes{tc::memory_scheme()};
  for (auto& broken : tc::selftest::broken_schemes()) schemes.push_back(std::move(broken));
  return tc::conformance_main(argc, argv, std::move(schemes));
}
