#pragma once

namespace taskstore::conformance::detail {

// Touches one symbol in every suite file. googletest registers tests from static
// initialisers, which a linker drops along with the whole object file when nothing else
// in the program refers to it; this reference keeps them all.
int link_all_suites();

}  // namespace taskstore::conformance::detail
