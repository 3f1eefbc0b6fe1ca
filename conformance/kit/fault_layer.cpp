#include "taskstore/conformance/fault_layer.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string_view>

#include "taskstore/conformance/registry.hpp"

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

namespace {

constexpr bool kSanitized =
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
    true;
#else
    false;
#endif
#else
    false;
#endif

// A sanitizer's runtime in this process, compiled in or not (a sanitized program linking
// a kit built without one).
bool sanitized() {
  return kSanitized || find<void*>("__asan_init") != nullptr ||
         find<void*>("__tsan_init") != nullptr || find<void*>("__msan_init") != nullptr;
}

bool switched_off() {
  const char* choice = std::getenv("TASKSTORE_FAULT_LAYER");
  return choice != nullptr && std::string_view(choice) == "off";
}

}  // namespace

std::string fault_layer_absence() {
  if (FaultLayer::loaded()) return "";
  if (sanitized()) {
    return "this program runs under a sanitizer, whose runtime must come before any "
           "preloaded library";
  }
  if (switched_off()) return "TASKSTORE_FAULT_LAYER=off";
  const std::string library = fault_layer_library();
  if (!std::filesystem::exists(library)) return "its library " + library + " is missing";
  if (std::getenv("TASKSTORE_FAULT_LAYER_TRIED") != nullptr) {
    return "this program restarted with LD_PRELOAD=" + library + ", but the layer did not load";
  }
  return "it is not loaded; run with LD_PRELOAD=" + library +
         ", or call load_fault_layer(argv) first thing in main";
}

std::string fault_injection_absence(const std::string& backend_name,
                                    const StoreEnvironment& environment, const char* fault,
                                    bool armed_here) {
  const std::string none = std::string("not checked: no ") + fault + " can be brought on";
  if (!environment.files_directory()) {
    return none + " backend '" + backend_name +
           "': it keeps its store where the kit can't see its files (a server in another "
           "process, say)";
  }
  if (armed_here && !environment.shares_fault_layer()) {
    return none + " backend '" + backend_name +
           "': it runs its store in another process that does not share the fault layer's "
           "control with the kit (an exec driver started before the layer was shared, or "
           "without it)";
  }
  if (const std::string absent = fault_layer_absence(); !absent.empty()) {
    return none + " without the fault layer: " + absent;
  }
  return "";
}

void load_fault_layer(char** argv) {
  if (sanitized() || switched_off() || FaultLayer::loaded() ||
      std::getenv("TASKSTORE_FAULT_LAYER_TRIED") != nullptr) {
    return;
  }
  const std::string library = fault_layer_library();
  if (!std::filesystem::exists(library)) return;
  const char* preload = std::getenv("LD_PRELOAD");
  const std::string preloads =
      preload != nullptr && *preload != '\0' ? std::string(preload) + ":" + library : library;
  ::setenv("TASKSTORE_FAULT_LAYER_TRIED", "1", 1);
  ::setenv("LD_PRELOAD", preloads.c_str(), 1);
  ::execv("/proc/self/exe", argv);
  // Not restarted: go on without the layer, as it was.
  if (preload != nullptr) {
    ::setenv("LD_PRELOAD", preload, 1);
  } else {
    ::unsetenv("LD_PRELOAD");
  }
}

std::optional<FaultLayer> FaultLayer::loaded() {
  FaultLayer layer;
  layer.set_scope_ = find<void (*)(const char*)>("taskstore_faults_set_scope");
  layer.arm_ = find<void (*)(unsigned, long, int, int)>("taskstore_faults_arm");
  layer.clear_ = find<void (*)()>("taskstore_faults_clear");
  layer.calls_ = find<long (*)(unsigned)>("taskstore_faults_calls");
  layer.fired_ = find<long (*)()>("taskstore_faults_fired");
  layer.record_power_cut_ = find<int (*)(const char*, const char*)>("taskstore_faults_record_power_cut");
  layer.share_ = find<int (*)()>("taskstore_faults_share");
  if (!layer.set_scope_ || !layer.arm_ || !layer.clear_ || !layer.calls_ || !layer.fired_ ||
      !layer.record_power_cut_ || !layer.share_) {
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

bool FaultLayer::share_with_processes_started_later() const { return share_() == 0; }

void FaultLayer::record_power_cut(const std::string& scope, const std::string& shadow) const {
  if (record_power_cut_(scope.c_str(), shadow.c_str()) != 0) {
    throw std::runtime_error("the fault layer cannot record power cuts into " + shadow);
  }
}

}  // namespace taskstore::conformance
