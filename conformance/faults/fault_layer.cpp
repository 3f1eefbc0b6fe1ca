// libtaskstore_faults: a system-call fault layer loaded with LD_PRELOAD into the process
// that runs a store (a test's child process, or an exec driver). It sees the calls that
// touch files under one directory (its scope) and can make the Nth of them fail with an
// errno, once or until cleared: the I/O-error model of issue 16. The process drives it
// through the C functions at the end (found with dlsym; see
// taskstore/conformance/fault_layer.hpp), or through the environment at start:
//   TASKSTORE_FAULT_SCOPE=/abs/dir   only calls on files under it are seen
//   TASKSTORE_FAULT_TRACE=1          print each counted call (to find which one a case fails)
//   TASKSTORE_POWER_CUT_SHADOW=/dir  record what a power cut would leave of the scope (below)
//   TASKSTORE_FAULT_CONTROL=/path    share the control of the process that started this one
//                                    (set by taskstore_faults_share, not by hand)
//
// Kept to plain C and atomics: it runs inside arbitrary programs, before and after their
// own runtime is up, so it allocates nothing and takes no locks (but the trace's stderr,
// and the power-cut recorder's file lock, which serialises its shadow updates).
// Not interposed: renameat, unlinkat, creat, pwritev, and closes through fclose, dup2 or
// close_range (an fd reused after those may keep its scope flag). The scope is meant to
// be set before the store opens, not while other threads do I/O.

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <new>

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

// What the process that arms faults and the processes that run the store must agree on:
// the scope, the counts and the armed fault. Each process has its own, until the one that
// arms faults shares it (taskstore_faults_share): it then lives in a memory file that
// processes it starts later (an exec driver) map too, named by TASKSTORE_FAULT_CONTROL.
// Plain atomics, lock-free, so they work across processes in a shared mapping.
struct Control {
  char scope[kMaxScope];
  std::atomic<long> calls[kKindCount];
  std::atomic<long> counted;  // calls of the armed kinds since arming
  std::atomic<unsigned> armed_kinds;
  std::atomic<long> fail_at;  // the call (1-based) to fail; 0 = never
  std::atomic<int> error;
  std::atomic<bool> persist;
  std::atomic<bool> failing;  // a persistent fault has fired and not been cleared
  std::atomic<long> fired;
};
static_assert(std::atomic<long>::is_always_lock_free && std::atomic<int>::is_always_lock_free &&
              std::atomic<bool>::is_always_lock_free && std::atomic<unsigned>::is_always_lock_free);

Control g_own_control;
std::atomic<Control*> g_control{&g_own_control};
std::atomic<int> g_scope_state{0};  // 0 unread, 1 reading, 2 ready
std::atomic<bool> g_in_scope[kMaxFds];

Control& control() { return *g_control.load(std::memory_order_relaxed); }

// --- Power-cut recording --------------------------------------------------------------------
// While recording, the layer keeps in a shadow directory (outside the scope) what a power
// cut would leave of the scope: every file's content as of its last fsync or fdatasync, and
// every directory's entries as of its last fsync. Nothing else is assumed durable (no
// flush on rename, no ordering between files). The shadow names files and directories by
// an id the layer gives each inode when it sees it created, because an inode number can be
// reused while a durable listing still names the old file:
//   ino-<inode>  the id of the inode that has this number now
//   data-<id>    the file's content at its last sync
//   dir-<id>     the directory's entries at its last sync: "<f|d> <id> <name>" lines
//   alive        every recording process holds a shared flock on it until it dies
//   lock         serialises shadow updates across threads and processes
// The test takes a baseline before the store runs (all on disk counts as durable), kills
// the store's processes, waits for `alive` and rebuilds the scope from the shadow
// (conformance/kit/power_cut.cpp). Creation is seen through open(O_CREAT) and mkdir.

constexpr std::size_t kMaxPath = kMaxScope + 64;
constexpr std::size_t kMaxId = 48;

char g_shadow[kMaxScope];
std::atomic<bool> g_recording{false};
std::atomic<long> g_ids{0};
std::atomic<long> g_temporaries{0};

int raw_open(int dirfd, const char* path, int flags, mode_t mode = 0) {
  return static_cast<int>(::syscall(SYS_openat, dirfd, path, flags | O_CLOEXEC, mode));
}

void raw_close(int fd) { ::syscall(SYS_close, fd); }

bool write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    const long n = ::syscall(SYS_write, fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool format(char* out, size_t size, const char* pattern, ...) {
  va_list args;
  va_start(args, pattern);
  const int n = vsnprintf(out, size, pattern, args);
  va_end(args);
  return n > 0 && static_cast<size_t>(n) < size;
}

// A shadow file written in full under a temporary name; commit() puts it in place, and a
// draft never committed is removed, so a shadow file is whole or not there.
class ShadowDraft {
 public:
  template <typename Fill>
  explicit ShadowDraft(Fill fill) {
    if (!format(temporary_, sizeof temporary_, "%s/tmp-%ld-%ld", g_shadow,
                static_cast<long>(getpid()), g_temporaries.fetch_add(1))) {
      return;
    }
    const int fd = raw_open(AT_FDCWD, temporary_, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return;
    filled_ = fill(fd);
    raw_close(fd);
  }
  ~ShadowDraft() {
    if (!committed_ && temporary_[0] != '\0') unlinkat(AT_FDCWD, temporary_, 0);
  }
  ShadowDraft(const ShadowDraft&) = delete;
  ShadowDraft& operator=(const ShadowDraft&) = delete;

  bool commit(const char* name) {
    char final_path[kMaxPath];
    committed_ = filled_ && format(final_path, sizeof final_path, "%s/%s", g_shadow, name) &&
                 renameat(AT_FDCWD, temporary_, AT_FDCWD, final_path) == 0;
    return committed_;
  }

 private:
  char temporary_[kMaxPath] = {};
  bool filled_ = false;
  bool committed_ = false;
};

template <typename Fill>
bool put_shadow(const char* name, Fill fill) {
  ShadowDraft draft(fill);
  return draft.commit(name);
}

// The id recorded for inode `inode`, into `id`; false if there is none.
bool recorded_id(ino_t inode, char (&id)[kMaxId]) {
  char path[kMaxPath];
  if (!format(path, sizeof path, "%s/ino-%lu", g_shadow, static_cast<unsigned long>(inode))) return false;
  const int fd = raw_open(AT_FDCWD, path, O_RDONLY);
  if (fd < 0) return false;
  const long n = ::syscall(SYS_read, fd, id, sizeof id - 1);
  raw_close(fd);
  if (n <= 0) return false;
  id[n] = '\0';
  return true;
}

// Gives inode `inode` a new id (it was just created), into `id`.
bool record_birth(ino_t inode, char (&id)[kMaxId]) {
  char name[64];
  if (!format(id, sizeof id, "%ld.%ld", static_cast<long>(getpid()), g_ids.fetch_add(1) + 1) ||
      !format(name, sizeof name, "ino-%lu", static_cast<unsigned long>(inode))) {
    return false;
  }
  return put_shadow(name, [&](int fd) { return write_all(fd, id, strlen(id)); });
}

// The id of `inode`; one created where the layer did not see it gets one now.
bool id_of(ino_t inode, char (&id)[kMaxId]) { return recorded_id(inode, id) || record_birth(inode, id); }

// Holds the shadow's lock: its own open file description, so threads exclude each other too.
class ShadowLock {
 public:
  ShadowLock() {
    char path[kMaxPath];
    if (format(path, sizeof path, "%s/lock", g_shadow)) {
      fd_ = raw_open(AT_FDCWD, path, O_RDWR | O_CREAT, 0644);
    }
    while (fd_ >= 0 && flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
    }
  }
  ~ShadowLock() {
    if (fd_ >= 0) raw_close(fd_);
  }
  ShadowLock(const ShadowLock&) = delete;
  ShadowLock& operator=(const ShadowLock&) = delete;

 private:
  int fd_ = -1;
};

// Something was just created at `fd` under the scope; the caller holds the ShadowLock
// from before the creation, so no directory sync can list the new name without its id.
void record_created(int fd) {
  if (fd < 0) return;
  struct stat st;
  if (fstat(fd, &st) != 0) return;
  char id[kMaxId];
  record_birth(st.st_ino, id);
}

bool copy_content(int from, int to) {
  char buffer[16384];
  for (;;) {
    const long n = ::syscall(SYS_read, from, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    if (!write_all(to, buffer, static_cast<size_t>(n))) return false;
  }
}

// "f <id> <name>" or "d <id> <name>" for each file and directory in directory `dir`.
bool write_listing(int dir, int to) {
  alignas(8) char buffer[16384];
  for (;;) {
    const long n = ::syscall(SYS_getdents64, dir, buffer, sizeof buffer);
    if (n < 0) return false;
    if (n == 0) return true;
    for (long at = 0; at < n;) {
      struct Entry {
        ino64_t d_ino;
        off64_t d_off;
        unsigned short d_reclen;
        unsigned char d_type;
        char d_name[1];
      };
      const auto* entry = reinterpret_cast<const Entry*>(buffer + at);
      at += entry->d_reclen;
      const char* name = entry->d_name;
      if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strchr(name, '\n') != nullptr) continue;
      struct stat st;
      if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // gone meanwhile
      const char type = S_ISREG(st.st_mode) ? 'f' : S_ISDIR(st.st_mode) ? 'd' : '\0';
      char id[kMaxId];
      char line[kMaxPath];
      if (type == '\0' || !id_of(st.st_ino, id)) continue;
      if (!format(line, sizeof line, "%c %s %s\n", type, id, name) || !write_all(to, line, strlen(line))) {
        return false;
      }
    }
  }
}

// Syncs `fd` under the scope with `sync` and, if that succeeds, records what it held when
// the sync began as durable: only what was written by then is sure to be on disk when the
// sync returns. The lock is held throughout, so syncs of one store are recorded in order.
template <typename Sync>
int sync_recorded(int fd, Sync sync) {
  struct stat st;
  if (!g_recording.load() || fstat(fd, &st) != 0 ||
      !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
    return sync(fd);
  }
  const ShadowLock lock;
  char id[kMaxId];
  char name[kMaxId + 8];
  const bool regular = S_ISREG(st.st_mode);
  if (!id_of(st.st_ino, id) || !format(name, sizeof name, regular ? "data-%s" : "dir-%s", id)) {
    return sync(fd);
  }
  char self[64];
  const int source = regular ? (format(self, sizeof self, "/proc/self/fd/%d", fd)
                                    ? raw_open(AT_FDCWD, self, O_RDONLY)  // `fd` may be write-only
                                    : -1)
                             : raw_open(fd, ".", O_RDONLY | O_DIRECTORY);
  ShadowDraft draft([&](int to) {
    return source >= 0 && (regular ? copy_content(source, to) : write_listing(source, to));
  });
  if (source >= 0) raw_close(source);
  const int result = sync(fd);
  if (result == 0) draft.commit(name);
  return result;
}

// Starts recording into `shadow`; false if its `alive` file can't be locked.
bool start_recording(const char* shadow) {
  if (strlen(shadow) >= kMaxScope) return false;
  strcpy(g_shadow, shadow);
  char path[kMaxPath];
  if (!format(path, sizeof path, "%s/alive", g_shadow)) return false;
  const int alive = raw_open(AT_FDCWD, path, O_RDWR | O_CREAT, 0644);  // held until death
  if (alive < 0) return false;
  if (flock(alive, LOCK_SH) != 0) {
    raw_close(alive);
    return false;
  }
  g_recording.store(true);
  return true;
}

// An exec driver is told through its environment; it then also dies with its parent, so
// that killing the process the test started stops every writer at once, as a power cut does.
void start_recording_from_environment() {
  const char* shadow = getenv("TASKSTORE_POWER_CUT_SHADOW");
  if (shadow == nullptr || shadow[0] == '\0') return;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (!start_recording(shadow)) {
    static const char message[] = "libtaskstore_faults: cannot record into TASKSTORE_POWER_CUT_SHADOW\n";
    (void)!::syscall(SYS_write, 2, message, sizeof message - 1);
    abort();
  }
}

// In a process started by one that shares its control (taskstore_faults_share): maps that
// control, so faults armed there fire here. If it is gone, this process keeps its own.
void attach_shared_control() {
  const char* path = getenv("TASKSTORE_FAULT_CONTROL");
  if (path == nullptr || path[0] == '\0' || g_control.load() != &g_own_control) return;
  const int fd = raw_open(AT_FDCWD, path, O_RDWR);
  void* map = fd < 0 ? MAP_FAILED
                     : mmap(nullptr, sizeof(Control), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (fd >= 0) raw_close(fd);
  if (map == MAP_FAILED) {
    static const char message[] =
        "libtaskstore_faults: cannot map TASKSTORE_FAULT_CONTROL; faults armed by the process "
        "that started this one will not fire here\n";
    (void)!::syscall(SYS_write, 2, message, sizeof message - 1);
    return;
  }
  g_control.store(static_cast<Control*>(map));
}

void read_scope_from_environment() {
  int expected = 0;
  if (!g_scope_state.compare_exchange_strong(expected, 1)) {
    while (g_scope_state.load() != 2) {
    }
    return;
  }
  attach_shared_control();
  const char* scope = getenv("TASKSTORE_FAULT_SCOPE");
  if (scope != nullptr && strlen(scope) < kMaxScope) strcpy(control().scope, scope);
  g_scope_state.store(2);
  start_recording_from_environment();
}

bool path_in_scope(const char* path) {
  if (path == nullptr) return false;
  if (g_scope_state.load() != 2) read_scope_from_environment();
  const char* scope = control().scope;
  const std::size_t n = strnlen(scope, kMaxScope);
  if (n == 0 || n == kMaxScope) return false;
  return strncmp(path, scope, n) == 0 && (path[n] == '\0' || path[n] == '/' || scope[n - 1] == '/');
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
  control().calls[kind_index(kind)].fetch_add(1);
  if ((control().armed_kinds.load() & kind) == 0) return false;
  if (control().failing.load()) {
    errno = control().error.load();
    return true;
  }
  const long n = control().counted.fetch_add(1) + 1;
  if (tracing()) {
    if (path != nullptr) {
      fprintf(stderr, "taskstore-faults: call %ld: %s %s%s\n", n, kind_name(kind), path,
              n == control().fail_at.load() ? " <- fails" : "");
    } else {
      fprintf(stderr, "taskstore-faults: call %ld: %s fd %d%s\n", n, kind_name(kind), fd,
              n == control().fail_at.load() ? " <- fails" : "");
    }
  }
  if (n != control().fail_at.load()) return false;
  control().fired.fetch_add(1);
  if (control().persist.load()) control().failing.store(true);
  errno = control().error.load();
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

// Opens through `open_with(flags)`. While recording, an O_CREAT open under the scope first
// tries O_EXCL, to learn whether it creates the file (an O_TMPFILE open always does).
template <typename OpenWith>
int open_recording(bool scoped, int flags, OpenWith open_with) {
  const bool recording = scoped && g_recording.load();
  const bool may_create = (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE;
  if (!recording || !may_create) return open_with(flags);
  const ShadowLock lock;  // held until the new file has its id
  if ((flags & O_TMPFILE) == O_TMPFILE) {
    const int fd = open_with(flags);
    record_created(fd);
    return fd;
  }
  if ((flags & O_EXCL) == 0) {
    const int fd = open_with(flags | O_EXCL);
    if (fd >= 0 || errno != EEXIST) {
      record_created(fd);
      return fd;
    }
    return open_with(flags);  // it exists: the caller's own open
  }
  const int fd = open_with(flags);
  record_created(fd);
  return fd;
}

int open_scoped(OpenFn real, const char* path, int flags, mode_t mode) {
  const bool scoped = path_in_scope(path);
  if (scoped && should_fail(kOpen, path)) return -1;
  const int fd = open_recording(scoped, flags, [&](int with) { return real(path, with, mode); });
  track(fd, scoped);
  return fd;
}

int openat_scoped(OpenAtFn real, int dirfd, const char* path, int flags, mode_t mode) {
  const bool scoped = at_in_scope(dirfd, path);
  if (scoped && should_fail(kOpen, path)) return -1;
  const int fd =
      open_recording(scoped, flags, [&](int with) { return real(dirfd, path, with, mode); });
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
  if (!fd_in_scope(fd)) return real(fd);
  if (should_fail(kSync, nullptr, fd)) return -1;
  return sync_recorded(fd, real);
}

int fdatasync(int fd) {
  static const auto real = next<int (*)(int)>("fdatasync");
  if (!fd_in_scope(fd)) return real(fd);
  if (should_fail(kSync, nullptr, fd)) return -1;
  return sync_recorded(fd, real);
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

// Not a counted kind; seen only so the power-cut recorder learns of new directories.
int mkdir(const char* path, mode_t mode) {
  static const auto real = next<int (*)(const char*, mode_t)>("mkdir");
  if (!g_recording.load() || !path_in_scope(path)) return real(path, mode);
  const ShadowLock lock;  // held until the new directory has its id
  const int result = real(path, mode);
  if (result == 0) {
    const int saved = errno;
    const int fd = raw_open(AT_FDCWD, path, O_RDONLY | O_DIRECTORY);
    record_created(fd);
    if (fd >= 0) raw_close(fd);
    errno = saved;
  }
  return result;
}

// --- Control, for the process under test (dlsym(RTLD_DEFAULT, ...)) ----------------------

// Sets the scope (an absolute directory); an empty one sees nothing.
void taskstore_faults_set_scope(const char* directory) {
  read_scope_from_environment();
  if (strlen(directory) < kMaxScope) strcpy(control().scope, directory);
}

// From now on, the `nth` (1-based) call of a kind in `kinds` fails with `error`; with
// `persist`, so does every later one of those kinds until taskstore_faults_clear().
void taskstore_faults_arm(unsigned kinds, long nth, int error, int persist) {
  control().armed_kinds.store(0);
  control().failing.store(false);
  control().counted.store(0);
  control().fail_at.store(nth);
  control().error.store(error);
  control().persist.store(persist != 0);
  control().armed_kinds.store(kinds);
}

// No more faults; the counts go on.
void taskstore_faults_clear(void) {
  control().armed_kinds.store(0);
  control().failing.store(false);
}

// How many calls of `kinds` in scope the layer has seen since the process started.
long taskstore_faults_calls(unsigned kinds) {
  long total = 0;
  for (int i = 0; i < kKindCount; ++i) {
    if ((kinds & (1u << i)) != 0) total += control().calls[i].load();
  }
  return total;
}

// Records, from now on, what a power cut would leave of `scope` into `shadow` (an existing
// directory outside it, holding a baseline; see "Power-cut recording"). Returns 0, or -1
// if the shadow can't be used.
int taskstore_faults_record_power_cut(const char* scope, const char* shadow) {
  taskstore_faults_set_scope(scope);
  return start_recording(shadow) ? 0 : -1;
}

// Moves this process's control (scope, counts, armed fault) into a memory file, and names
// it in TASKSTORE_FAULT_CONTROL for the processes this one starts from now on (an exec
// driver, with the layer preloaded), which map it on their first call in scope: faults
// armed here then fire there, and their calls count here. Returns 0, or -1 if it can't.
// Call it before starting them, with no other thread doing I/O.
int taskstore_faults_share(void) {
  read_scope_from_environment();
  if (g_control.load() != &g_own_control) return 0;  // shared, or attached to a sharer's
  const int fd = static_cast<int>(::syscall(SYS_memfd_create, "taskstore-faults", 0));
  if (fd < 0) return -1;
  void* map = ::syscall(SYS_ftruncate, fd, static_cast<long>(sizeof(Control))) != 0
                  ? MAP_FAILED
                  : mmap(nullptr, sizeof(Control), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  char path[64];
  if (map == MAP_FAILED || !format(path, sizeof path, "/proc/%ld/fd/%d", static_cast<long>(getpid()), fd)) {
    raw_close(fd);
    return -1;
  }
  Control* shared = new (map) Control{};
  const Control& own = g_own_control;
  memcpy(shared->scope, own.scope, kMaxScope);
  for (int i = 0; i < kKindCount; ++i) shared->calls[i].store(own.calls[i].load());
  shared->fired.store(own.fired.load());
  g_control.store(shared);
  // The fd stays open for the life of the process: the path names it.
  return setenv("TASKSTORE_FAULT_CONTROL", path, 1) == 0 ? 0 : -1;
}

// How many faults have fired (a persistent fault counts once).
long taskstore_faults_fired(void) { return control().fired.load(); }

}  // extern "C"
