// Preloads a file store by writing what FileStore::enqueue would write (a task record and
// an empty due marker per task) without its per-task fsyncs, then syncs the file system
// once, so the benchmark that follows does not pay for write-back of the preload. No
// instance may have the store open meanwhile: the markers are not written to DUE-LOG, so
// only an instance opened afterwards sees them (FILE-9).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "loaders.hpp"
#include "posix_file.hpp"
#include "record_codec.hpp"
#include "store_layout.hpp"
#include "workload.hpp"

namespace taskstore::bench {

namespace fs = std::filesystem;
namespace fb = taskstore::file_backend;

namespace {

void write_whole_file(const fs::path& path, const Bytes& bytes) {
  const fb::UniqueFd fd = fb::open_file(path, O_WRONLY | O_CREAT | O_TRUNC);
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fb::throw_errno("write", path, errno);
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

void preload_file_store(const fs::path& directory, std::size_t first, std::size_t count,
                        std::size_t payload_bytes) {
  const fb::StoreLayout layout(fs::absolute(directory));
  if (!fb::inspect_layout(layout)) {
    throw std::runtime_error("preload: " + directory.string() + " holds no file store yet");
  }
  for (std::size_t i = first; i < first + count; ++i) {
    // Sequence numbers below the wall clock in µs: the store's next_sequence hands out
    // larger ones to later enqueues.
    const fb::StoredTask stored{make_task(i, payload_bytes, preload_eta(i)), i + 1};
    write_whole_file(layout.task_file(stored.task.id), fb::encode_task(stored));
    fb::create_empty_file(layout.queue_dir() /
                          fb::due_marker_name(stored.task.eta, stored.seq, stored.task.id));
  }
  const fb::UniqueFd root = fb::open_file(layout.root(), O_RDONLY | O_DIRECTORY);
  if (::syncfs(root.get()) != 0) fb::throw_errno("syncfs", layout.root(), errno);
}

}  // namespace taskstore::bench
