// taskstore-conformance with three deliberately broken backends added, for the self-test.
#include "broken_backends.hpp"

int main(int argc, char** argv) {
  namespace tc = taskstore::conformance;
  auto schemes = tc::reference_schemes();
  for (auto& broken : tc::selftest::broken_schemes()) schemes.push_back(std::move(broken));
  return tc::conformance_main(argc, argv, std::move(schemes));
}
