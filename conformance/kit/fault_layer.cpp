#include "taskstore/conformance/fault_layer.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>

namespace taskstore::conformance {

namespace {

template <typename F>
F find(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_DEFAULT, name));
}

}  // namespace

const char* fault_kind_name(FaultKind kind) {
  switch (kind) {
    case kFaultOpen: return "open";
    case kFaultWrite: return "write";
    case kFaultSync: return "fsync";
    case kFaultRename: return "rename";
    case kFaultUnlink: return "unlink";
    case kFaultTruncate: return "ftruncate";
    default: return "?";
  }
}

std::string fault_layer_library() {
  if (const char* chosen = std::getenv("TASKSTORE_FAULT_LAYER"); chosen != nullptr && *chosen) {
    return chosen;
  }
  if (std::filesystem::exists(TASKSTORE_FAULT_LAYER_BUILT)) return TASKSTORE_FAULT_LAYER_BUILT;
  return TASKSTORE_FAULT_LAYER_INSTALLED;
}

std::optional<FaultLayer> FaultLayer::loaded() {
  FaultLayer layer;
  layer.set_scope_ = find<void (*)(const char*)>("taskstore_faults_set_scope");
  layer.arm_ = find<void (*)(unsigned, long, int, int)>("taskstore_faults_arm");
  layer.clear_ = find<void (*)()>("taskstore_faults_clear");
  layer.calls_ = find<long (*)(unsigned)>("taskstore_faults_calls");
  layer.fired_ = find<long (*)()>("taskstore_faults_fired");
  if (!layer.set_scope_ || !layer.arm_ || !layer.clear_ || !layer.calls_ || !layer.fired_) {
    return std::nullopt;
  }
  return layer;
}

void FaultLayer::set_scope(const std::string& directory) const { set_scope_(directory.c_str()); }

void FaultLayer::arm(unsigned kinds, long nth, int error, bool persist) const {
  arm_(kinds, nth, error, persist ? 1 : 0);
}

void FaultLayer::clear() const { clear_(); }

long FaultLayer::calls(unsigned kinds) const { return calls_(kinds); }

long FaultLayer::fired() const { return fired_(); }

}  // namespace taskstore::conformance
