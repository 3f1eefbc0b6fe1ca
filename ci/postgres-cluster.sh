#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for taskstore's postgres tests, listening only on a Unix
# socket inside its own directory (no TCP port is opened, so parallel clusters never clash).
#
# Usage (as root): ci/postgres-cluster.sh start|stop|kill|restart|env DIR
#   start    initdb into DIR (as the postgres user: initdb refuses root) unless it holds a
#            cluster already, start the server, wait until it accepts connections, create
#            the database taskstore, and print the TASKSTORE_PG=... line to export.
#   stop     stop the server (idempotent: a stopped or missing cluster is fine).
#   kill     SIGKILL the server and every backend process at once, as a crash of the machine
#            would stop them (no shutdown checkpoint; the next start runs crash recovery);
#            waits until they are gone. Idempotent like stop.
#   restart  stop and start the same cluster (the outage test runs this).
#   env      print the TASKSTORE_PG=... line of the cluster in DIR.
# Typical use:
#   export "$(bash ci/postgres-cluster.sh start /tmp/pgtest | tail -n 1)"
#   trap 'bash ci/postgres-cluster.sh stop /tmp/pgtest' EXIT
set -euo pipefail

usage() {
  echo "usage: $0 start|stop|kill|restart|env DIR" >&2
  exit 2
}
[ $# -eq 2 ] || usage
command=$1
case $2 in
  /*) dir=$2 ;;
  *) dir=$(pwd)/$2 ;;  # the socket path must be absolute
esac
bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
data=$dir/data
port_file=$dir/port

# Runs a command as the postgres user (the cluster's owner).
as_postgres() {
  if [ "$(id -un)" = postgres ]; then
    "$@"
  else
    runuser -u postgres -- "$@"
  fi
}

# A port number no other cluster on this machine uses: the socket file is named after it,
# and a free TCP port is also a free socket name in any directory.
free_port() {
  python3 - <<'EOF'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
EOF
}

env_line() {
  echo "TASKSTORE_PG=host=$dir port=$(cat "$port_file") user=postgres dbname=taskstore"
}

running() {
  [ -f "$data/postmaster.pid" ] && as_postgres "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1
}

start() {
  if [ ! -f "$data/PG_VERSION" ]; then
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
    chmod 700 "$dir"
    as_postgres "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 \
      --locale=C.UTF-8 >"$dir/initdb.log"
    free_port >"$port_file"
    # Many test processes each open a pool of connections: room for them.
    cat >>"$data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$dir'
port = $(cat "$port_file")
max_connections = 400
shared_buffers = 64MB
EOF
  fi
  if ! running; then
    as_postgres "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 start >/dev/null
  fi
  local port
  port=$(cat "$port_file")
  for _ in $(seq 1 120); do
    if as_postgres "$bin/pg_isready" -q -h "$dir" -p "$port"; then break; fi
    sleep 0.5
  done
  as_postgres "$bin/pg_isready" -q -h "$dir" -p "$port"
  if [ -z "$(as_postgres "$bin/psql" -h "$dir" -p "$port" -U postgres -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = 'taskstore'")" ]; then
    as_postgres "$bin/createdb" -h "$dir" -p "$port" -U postgres taskstore
  fi
  env_line
}

stop() {
  if [ -f "$data/PG_VERSION" ] && running; then
    as_postgres "$bin/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null
  fi
}

# The processes whose parent is $1 (from /proc: procps is not on every machine).
children_of() {
  local status
  for status in /proc/[0-9]*/status; do
    if [ "$(awk '/^PPid:/ { print $2 }' "$status" 2>/dev/null)" = "$1" ]; then
      status=${status#/proc/}
      echo "${status%/status}"
    fi
  done
}

# The postmaster is frozen first, so it can't notice its children dying and restart them.
# A stale postmaster.pid (after an earlier kill) may name an unrelated process now: only
# a process whose command line names this cluster's data directory is killed.
kill_server() {
  [ -f "$data/postmaster.pid" ] || return 0
  local pm
  pm=$(head -1 "$data/postmaster.pid")
  kill -0 "$pm" 2>/dev/null || return 0
  tr '\0' ' ' <"/proc/$pm/cmdline" | grep -qF -- "$data" || return 0
  local children pid
  kill -STOP "$pm"
  children=$(children_of "$pm")
  # shellcheck disable=SC2086
  [ -z "$children" ] || kill -KILL $children 2>/dev/null || true
  kill -KILL "$pm"
  for _ in $(seq 1 100); do
    local alive=""
    for pid in $pm $children; do
      # A zombie has been killed; it only waits for its parent to reap it.
      if [ -e "/proc/$pid" ] && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; then
        alive=yes
      fi
    done
    if [ -z "$alive" ]; then
      # A killed postmaster nobody reaps (a container's init may not) still answers kill -0,
      # so pg_ctl and the next postmaster would take its pid files for a live server.
      rm -f "$data/postmaster.pid" "$dir"/.s.PGSQL.*.lock
      return 0
    fi
    sleep 0.1
  done
  echo "$0: the server in $dir did not die" >&2
  return 1
}

case $command in
  start) start ;;
  stop) stop ;;
  kill) kill_server ;;
  restart)
    stop
    start
    ;;
  env)
    [ -f "$port_file" ] || {
      echo "$0: no cluster in $dir" >&2
      exit 1
    }
    env_line
    ;;
  *) usage ;;
esac
