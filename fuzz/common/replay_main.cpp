// The replay program every harness becomes in an ordinary build: it feeds each file named
// on the command line (or each file inside a named directory, in name order) to the
// harness's LLVMFuzzerTestOneInput, exactly as libFuzzer would. Registered with ctest
// over fuzz/corpus/<target>, so every corpus file is a regression test in every preset.
// In the fuzz preset the harnesses link libFuzzer's own main instead.
//
//   fuzz_ops_file fuzz/corpus/fuzz_ops_file      # every seed and past crash
//   fuzz_ops_file crash-0123abcd                 # one input

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

#include "harness.hpp"

namespace fs = std::filesystem;

namespace {

bool read_file(const fs::path& path, std::vector<std::uint8_t>& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE_OR_DIRECTORY...\n", argv[0]);
    return 2;
  }
  std::vector<fs::path> inputs;
  for (int i = 1; i < argc; ++i) {
    const fs::path arg = argv[i];
    std::error_code ec;
    if (fs::is_directory(arg, ec)) {
      std::vector<fs::path> files;
      for (const auto& entry : fs::directory_iterator(arg, ec)) {
        if (entry.is_regular_file()) files.push_back(entry.path());
      }
      if (ec) {
        std::fprintf(stderr, "%s: cannot list %s: %s\n", argv[0], arg.c_str(), ec.message().c_str());
        return 2;
      }
      std::sort(files.begin(), files.end());
      if (files.empty()) {
        std::fprintf(stderr, "%s: %s holds no input files\n", argv[0], arg.c_str());
        return 2;
      }
      inputs.insert(inputs.end(), files.begin(), files.end());
    } else {
      inputs.push_back(arg);
    }
  }
  std::vector<std::uint8_t> data;
  for (const auto& path : inputs) {
    if (!read_file(path, data)) {
      std::fprintf(stderr, "%s: cannot read %s\n", argv[0], path.c_str());
      return 2;
    }
    std::fprintf(stderr, "replaying %s (%zu bytes)\n", path.c_str(), data.size());
    // A copy of exactly the input's size, so ASan catches a read past its end.
    const std::vector<std::uint8_t> input(data);
    LLVMFuzzerTestOneInput(input.data(), input.size());
  }
  std::printf("%s: %zu inputs replayed, no failure\n", argv[0], inputs.size());
  return 0;
}
