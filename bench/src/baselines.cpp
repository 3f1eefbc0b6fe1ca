#include "baselines.hpp"

#include <stdexcept>

#include "postgres_support.hpp"

namespace taskstore::bench {

namespace {

const BackendSpec& backend_named(const std::string& name) {
  for (const auto& spec : backends()) {
    if (spec.name == name) return spec;
  }
  throw std::logic_error("no backend named " + name);
}

std::vector<BaselineSpec> make_baselines() {
  std::vector<BaselineSpec> all;
  all.push_back(raw_memory_baseline());
  all.push_back(raw_file_baseline());
  all.push_back(raw_sqlite_baseline(backend_named("sqlite"), true));
  all.push_back(raw_sqlite_baseline(backend_named("sqlite_normal"), false));
  if (const auto conninfo = postgres_conninfo()) {
    all.push_back(raw_postgres_baseline(backend_named("postgres"), *conninfo));
  }
  return all;
}

}  // namespace

const std::vector<BaselineSpec>& baselines() {
  static const std::vector<BaselineSpec> all = make_baselines();
  return all;
}

const BaselineSpec* baseline_for(const BackendSpec& spec) {
  for (const auto& baseline : baselines()) {
    if (baseline.medium == spec.medium) return &baseline;
  }
  return nullptr;
}

}  // namespace taskstore::bench
