#pragma once
// Small helpers shared by the reference backends' conformance environments.

#include <filesystem>
#include <string>
#include <string_view>

namespace taskstore::conformance::detail {

// A name no other test, thread or process will pick in the same parent directory.
std::string unique_name(std::string_view prefix);

// Removes a file or directory tree, ignoring errors (cleanup after a test).
void remove_quietly(const std::filesystem::path& path);

// Creates `parent` if needed; throws std::invalid_argument naming `backend` and the path
// if it can't be used as a directory.
std::filesystem::path prepared_parent(std::filesystem::path parent, std::string_view backend);

}  // namespace taskstore::conformance::detail
