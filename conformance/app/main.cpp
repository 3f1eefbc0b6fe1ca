// taskstore-conformance: the conformance suite (every suite family) against the reference
// backends, or any of them named with --backend. See --help.
//
// The kit names no backend: each reference backend hooks in from its own folder
// (backends/<b>/conformance/), and this program is where they meet.
#include "taskstore/conformance/file_backend.hpp"
#include "taskstore/conformance/memory_backend.hpp"
#include "taskstore/conformance/postgres_backend.hpp"
#include "taskstore/conformance/sqlite_backend.hpp"
#include "taskstore/conformance/suite.hpp"

int main(int argc, char** argv) {
  namespace tc = taskstore::conformance;
  return tc::conformance_main(argc, argv,
                              {tc::memory_scheme(), tc::file_scheme(), tc::sqlite_scheme(),
                               tc::postgres_scheme(), tc::exec_scheme()});
}
