// Preloads a PostgreSQL store with one INSERT ... SELECT over generate_series: 200,000
// tasks in a few seconds, where one enqueue at a time would cost a commit (an fsync) each.
#include <stdexcept>
#include <string>

#include "loaders.hpp"
#include "postgres_support.hpp"
#include "workload.hpp"

namespace taskstore::bench {

namespace {

void check_schema_version(PgConnection& connection) {
  const PgResult rows = connection.exec("SELECT version FROM schema_version");
  const std::string version = rows.rows() == 1 ? std::string(rows.value(0, 0)) : "?";
  if (version != "1" || PostgresStorage::kSchemaVersion != 1) {
    throw std::runtime_error("preload: the postgres store has schema version " + version +
                             "; bench/src/postgres_loader.cpp writes version 1 rows");
  }
}

// Every row as the backend's task_params (row_codec.cpp) would give it for make_task(g):
// text ids "task-" and ten digits (task_id), bytea name and payload, the status and
// backoff names of to_string, times in µs. Columns that do not depend on g come from
// make_task itself; payload byte i of task g is (g + i) & 0xff (make_task), cut from a
// pattern of 256 + payload_bytes bytes counting up from 0.
void insert_rows(PgConnection& connection, std::size_t first, std::size_t count,
                 std::size_t payload_bytes) {
  if (first + count > 10'000'000'000ULL) {
    throw std::runtime_error("preload: task ids past 10 digits do not fit task_id's form");
  }
  const Task sample = make_task(first, payload_bytes, preload_eta(first));
  std::string pattern(256 + payload_bytes, '\0');
  for (std::size_t i = 0; i < pattern.size(); ++i) pattern[i] = static_cast<char>(i & 0xff);
  const auto micros = [](Timestamp t) { return std::to_string(to_micros(t)); };
  const auto flag = [](bool b) { return std::string(b ? "t" : "f"); };
  connection.query(
      "INSERT INTO tasks (id, name, payload, status, eta, attempts, max_retries, "
      "retry_backoff, retry_delay_us, retry_max_delay_us, retry_jitter, interval_us, "
      "last_error, created_at, updated_at) "
      "SELECT 'task-' || lpad(g::text, 10, '0'), $1::bytea, "
      "substring($2::bytea FROM (g % 256)::int + 1 FOR $3::int), $4::text, $5::bigint + g, "
      "$6::bigint, $7::bigint, $8::text, $9::bigint, $10::bigint, $11::boolean, NULL::bigint, "
      "NULL::bytea, $5::bigint + g, $5::bigint + g "
      "FROM generate_series($12::bigint, $13::bigint) AS g ORDER BY g",
      {bytea_hex(sample.name), bytea_hex(pattern), std::to_string(payload_bytes),
       std::string(to_string(sample.status)), micros(preload_eta(0)),
       std::to_string(sample.attempts), std::to_string(sample.max_retries),
       std::string(to_string(sample.retry.backoff)), std::to_string(sample.retry.delay.count()),
       std::to_string(sample.retry.max_delay.count()), flag(sample.retry.jitter),
       std::to_string(first), std::to_string(first + count - 1)});
}

// The columns left NULL above must be what make_task leaves unset.
void check_sample_shape(std::size_t payload_bytes) {
  const Task sample = make_task(0, payload_bytes, preload_eta(0));
  if (sample.schedule || sample.last_error || sample.eta != sample.created_at ||
      sample.eta != sample.updated_at) {
    throw std::runtime_error("preload: make_task changed; update bench/src/postgres_loader.cpp");
  }
}

void check_reads_back(PostgresStorage& store, std::size_t index, std::size_t payload_bytes) {
  const std::optional<Task> read = run_sync(store.get_task(task_id(index)));
  if (!read || *read != make_task(index, payload_bytes, preload_eta(index))) {
    throw std::runtime_error("preload: task " + task_id(index) +
                             " does not read back as make_task made it "
                             "(bench/src/postgres_loader.cpp and row_codec.cpp disagree)");
  }
}

}  // namespace

void preload_postgres_store(PostgresStorage& store, const std::string& conninfo,
                            std::size_t first, std::size_t count, std::size_t payload_bytes) {
  if (count == 0) return;
  check_sample_shape(payload_bytes);
  {
    PgConnection connection(conninfo, store.schema());
    check_schema_version(connection);
    insert_rows(connection, first, count, payload_bytes);
    connection.exec("VACUUM (ANALYZE) tasks");
    // The load writes tens of MB of WAL; a checkpoint now, rather than one the server
    // starts for that WAL a few seconds into the timed run, makes every run start from
    // the same point. Needs superuser or pg_checkpoint: without, the run goes on as is.
    try {
      connection.exec("CHECKPOINT");
    } catch (const std::exception&) {
    }
  }
  check_reads_back(store, first, payload_bytes);
  check_reads_back(store, first + count - 1, payload_bytes);
}

}  // namespace taskstore::bench
