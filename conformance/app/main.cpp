// taskstore-conformance: the conformance suite against the reference backends, or any
// of them named with --backend. See --help.
#include "taskstore/conformance/suite.hpp"

int main(int argc, char** argv) {
  return taskstore::conformance::conformance_main(argc, argv,
                                                  taskstore::conformance::reference_schemes());
}
