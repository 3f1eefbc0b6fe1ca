// libtaskstore_faults: a system-call fault layer loaded with LD_PRELOAD into the process
// that runs a store (a test's child process, or an exec driver). It sees the calls that
// touch files under one directory (its scope) and can make the Nth of them fail with an
// errno, once or until cleared: the I/O-error model of issue 16. The process drives it
// through the C functions at the end (found with dlsym; see
// taskstore/conformance/fault_layer.hpp), or through the environment at start:
//   TASKSTORE_FAULT_SCOPE=/abs/dir   only calls on files under it are seen
//   TASKSTORE_FAULT_TRACE=1          print each counted call (to find which one a case fails)
//
// Kept to plain C and atomics: it runs inside arbitrary programs, before and after their
// own runtime is up, so it allocates nothing and takes no locks (but the trace's stderr).
// Not interposed: renameat, unlinkat, creat, pwritev, and closes through fclose, dup2 or
// close_range (an fd reused after those may keep its scope flag). The scope is meant to
// be set before the store opens, not while other threads do I/O.

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>

namespace {

// The calls the layer counts, as bits of a mask (fault_layer.hpp mirrors them).
enum Kind : unsigned {
  kOpen = 1u << 0,       // open, openat (files and directories under the scope)
  kWrite = 1u << 1,      // write, pwrite, writev on an fd opened under the scope
  kSync = 1u << 2,       // fsync, fdatasync on such an fd
  kRename = 1u << 3,     // rename with either path under the scope
  kUnlink = 1u << 4,     // unlink under the scope
  kTruncate = 1u << 5,   // ftruncate on such an fd
};
constexpr int kKindCount = 6;

constexpr int kMaxFds = 1 << 16;
constexpr std::size_t kMaxScope = 4096;

char g_scope[kMaxScope];
std::atomic<int> g_scope_state{0};  // 0 unread, 1 reading, 2 ready
std::atomic<bool> g_in_scope[kMaxFds];

std::atomic<long> g_calls[kKindCount];
std::atomic<long> g_counted{0};  // calls of the armed kinds since arming
std::atomic<unsigned> g_armed_kinds{0};
std::atomic<long> g_fail_at{0};  // the call (1-based) to fail; 0 = never
std::atomic<int> g_errno{EIO};
std::atomic<bool> g_persist{false};
std::atomic<bool> g_failing{false};  // a persistent fault has fired and not been cleared
std::atomic<long> g_fired{0};

void read_scope_from_environment() {
  int expected = 0;
  if (!g_scope_state.compare_exchange_strong(expected, 1)) {
    while (g_scope_state.load() != 2) {
    }
    return;
  }
  const char* scope = getenv("TASKSTORE_FAULT_SCOPE");
  if (scope != nullptr && strlen(scope) < kMaxScope) strcpy(g_scope, scope);
  g_scope_state.store(2);
}

bool path_in_scope(const char* path) {
  if (path == nullptr) return false;
  if (g_scope_state.load() != 2) read_scope_from_environment();
  const std::size_t n = strlen(g_scope);
  if (n == 0) return false;
  return strncmp(path, g_scope, n) == 0 && (path[n] == '\0' || path[n] == '/' || g_scope[n - 1] == '/');
}

bool fd_in_scope(int fd) { return fd >= 0 && fd < kMaxFds && g_in_scope[fd].load(); }

// A path relative to a directory fd is in scope if that directory is.
bool at_in_scope(int dirfd, const char* path) {
  if (path == nullptr) return false;
  return path[0] == '/' ? path_in_scope(path) : dirfd != AT_FDCWD && fd_in_scope(dirfd);
}

int kind_index(Kind kind) { return __builtin_ctz(kind); }

const char* kind_name(Kind kind) {
  static const char* const names[kKindCount] = {"open", "write", "fsync", "rename", "unlink",
                                                "ftruncate"};
  return names[kind_index(kind)];
}

// TASKSTORE_FAULT_TRACE=1 prints each counted call of the armed kinds to stderr, to see
// which call a failing case's number names.
bool tracing() {
  static const bool on = [] {
    const char* trace = getenv("TASKSTORE_FAULT_TRACE");
    return trace != nullptr && trace[0] == '1';
  }();
  return on;
}

// Counts a call of `kind` in scope (on `path`, or else on `fd`); true if this call is to
// fail (errno is set).
bool should_fail(Kind kind, const char* path = nullptr, int fd = -1) {
  g_calls[kind_index(kind)].fetch_add(1);
  if ((g_armed_kinds.load() & kind) == 0) return false;
  if (g_failing.load()) {
    errno = g_errno.load();
    return true;
  }
  const long n = g_counted.fetch_add(1) + 1;
  if (tracing()) {
    if (path != nullptr) {
      fprintf(stderr, "taskstore-faults: call %ld: %s %s%s\n", n, kind_name(kind), path,
              n == g_fail_at.load() ? " <- fails" : "");
    } else {
      fprintf(stderr, "taskstore-faults: call %ld: %s fd %d%s\n", n, kind_name(kind), fd,
              n == g_fail_at.load() ? " <- fails" : "");
    }
  }
  if (n != g_fail_at.load()) return false;
  g_fired.fetch_add(1);
  if (g_persist.load()) g_failing.store(true);
  errno = g_errno.load();
  return true;
}

// The C library's own function. Every function interposed here is in glibc, so a miss
// means a broken process: stop with a message instead of calling a null pointer.
template <typename F>
F next(const char* name) {
  void* found = dlsym(RTLD_NEXT, name);
  if (found == nullptr) {
    static const char message[] = "libtaskstore_faults: a C library function is missing\n";
    (void)!::syscall(SYS_write, 2, message, sizeof message - 1);
    abort();
  }
  return reinterpret_cast<F>(found);
}

void track(int fd, bool in_scope) {
  if (fd >= 0 && fd < kMaxFds) g_in_scope[fd].store(in_scope);
}

// The mode argument exists only with O_CREAT or O_TMPFILE (whose bits include
// O_DIRECTORY's, so a plain O_DIRECTORY open has none): glibc's own test.
mode_t mode_argument(int flags, va_list args) {
  const bool needs_mode = (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE;
  return needs_mode ? static_cast<mode_t>(va_arg(args, int)) : 0;
}

using OpenFn = int (*)(const char*, int, ...);
using OpenAtFn = int (*)(int, const char*, int, ...);

int open_scoped(OpenFn real, const char* path, int flags, mode_t mode) {
  const bool scoped = path_in_scope(path);
  if (scoped && should_fail(kOpen, path)) return -1;
  const int fd = real(path, flags, mode);
  track(fd, scoped);
  return fd;
}

int openat_scoped(OpenAtFn real, int dirfd, const char* path, int flags, mode_t mode) {
  const bool scoped = at_in_scope(dirfd, path);
  if (scoped && should_fail(kOpen, path)) return -1;
  const int fd = real(dirfd, path, flags, mode);
  track(fd, scoped);
  return fd;
}

}  // namespace

extern "C" {

int open(const char* path, int flags, ...) {
  static const auto real = next<OpenFn>("open");
  va_list args;
  va_start(args, flags);
  const mode_t mode = mode_argument(flags, args);
  va_end(args);
  return open_scoped(real, path, flags, mode);
}

int open64(const char* path, int flags, ...) {
  static const auto real = next<OpenFn>("open64");
  va_list args;
  va_start(args, flags);
  const mode_t mode = mode_argument(flags, args);
  va_end(args);
  return open_scoped(real, path, flags, mode);
}

int openat(int dirfd, const char* path, int flags, ...) {
  static const auto real = next<OpenAtFn>("openat");
  va_list args;
  va_start(args, flags);
  const mode_t mode = mode_argument(flags, args);
  va_end(args);
  return openat_scoped(real, dirfd, path, flags, mode);
}

int openat64(int dirfd, const char* path, int flags, ...) {
  static const auto real = next<OpenAtFn>("openat64");
  va_list args;
  va_start(args, flags);
  const mode_t mode = mode_argument(flags, args);
  va_end(args);
  return openat_scoped(real, dirfd, path, flags, mode);
}

int close(int fd) {
  static const auto real = next<int (*)(int)>("close");
  track(fd, false);
  return real(fd);
}

ssize_t write(int fd, const void* buffer, size_t count) {
  static const auto real = next<ssize_t (*)(int, const void*, size_t)>("write");
  if (fd_in_scope(fd) && should_fail(kWrite, nullptr, fd)) return -1;
  return real(fd, buffer, count);
}

ssize_t pwrite(int fd, const void* buffer, size_t count, off_t offset) {
  static const auto real = next<ssize_t (*)(int, const void*, size_t, off_t)>("pwrite");
  if (fd_in_scope(fd) && should_fail(kWrite, nullptr, fd)) return -1;
  return real(fd, buffer, count, offset);
}

ssize_t pwrite64(int fd, const void* buffer, size_t count, off64_t offset) {
  static const auto real = next<ssize_t (*)(int, const void*, size_t, off64_t)>("pwrite64");
  if (fd_in_scope(fd) && should_fail(kWrite, nullptr, fd)) return -1;
  return real(fd, buffer, count, offset);
}

ssize_t writev(int fd, const struct iovec* iov, int count) {
  static const auto real = next<ssize_t (*)(int, const struct iovec*, int)>("writev");
  if (fd_in_scope(fd) && should_fail(kWrite, nullptr, fd)) return -1;
  return real(fd, iov, count);
}

int fsync(int fd) {
  static const auto real = next<int (*)(int)>("fsync");
  if (fd_in_scope(fd) && should_fail(kSync, nullptr, fd)) return -1;
  return real(fd);
}

int fdatasync(int fd) {
  static const auto real = next<int (*)(int)>("fdatasync");
  if (fd_in_scope(fd) && should_fail(kSync, nullptr, fd)) return -1;
  return real(fd);
}

int ftruncate(int fd, off_t length) {
  static const auto real = next<int (*)(int, off_t)>("ftruncate");
  if (fd_in_scope(fd) && should_fail(kTruncate, nullptr, fd)) return -1;
  return real(fd, length);
}

int ftruncate64(int fd, off64_t length) {
  static const auto real = next<int (*)(int, off64_t)>("ftruncate64");
  if (fd_in_scope(fd) && should_fail(kTruncate, nullptr, fd)) return -1;
  return real(fd, length);
}

int rename(const char* from, const char* to) {
  static const auto real = next<int (*)(const char*, const char*)>("rename");
  if ((path_in_scope(from) || path_in_scope(to)) && should_fail(kRename, to)) return -1;
  return real(from, to);
}

int unlink(const char* path) {
  static const auto real = next<int (*)(const char*)>("unlink");
  if (path_in_scope(path) && should_fail(kUnlink, path)) return -1;
  return real(path);
}

// --- Control, for the process under test (dlsym(RTLD_DEFAULT, ...)) ----------------------

// Sets the scope (an absolute directory); an empty one sees nothing.
void taskstore_faults_set_scope(const char* directory) {
  read_scope_from_environment();
  if (strlen(directory) < kMaxScope) strcpy(g_scope, directory);
}

// From now on, the `nth` (1-based) call of a kind in `kinds` fails with `error`; with
// `persist`, so does every later one of those kinds until taskstore_faults_clear().
void taskstore_faults_arm(unsigned kinds, long nth, int error, int persist) {
  g_armed_kinds.store(0);
  g_failing.store(false);
  g_counted.store(0);
  g_fail_at.store(nth);
  g_errno.store(error);
  g_persist.store(persist != 0);
  g_armed_kinds.store(kinds);
}

// No more faults; the counts go on.
void taskstore_faults_clear(void) {
  g_armed_kinds.store(0);
  g_failing.store(false);
}

// How many calls of `kinds` in scope the layer has seen since the process started.
long taskstore_faults_calls(unsigned kinds) {
  long total = 0;
  for (int i = 0; i < kKindCount; ++i) {
    if ((kinds & (1u << i)) != 0) total += g_calls[i].load();
  }
  return total;
}

// How many faults have fired (a persistent fault counts once).
long taskstore_faults_fired(void) { return g_fired.load(); }

}  // extern "C"
