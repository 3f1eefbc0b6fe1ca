#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for taskstore's postgres tests, listening only on a Unix
# socket inside its own directory (no TCP port is opened, so parallel clusters never clash).
#
# Usage (as root): ci/postgres-cluster.sh start|stop|restart|env DIR
#   start    initdb into DIR (as the postgres user: initdb refuses root) unless it holds a
#            cluster already, start the server, wait until it accepts connections, create
#            the database taskstore, and print the TASKSTORE_PG=... line to export.
#   stop     stop the server (idempotent: a stopped or missing cluster is fine).
#   restart  stop and start the same cluster (the outage test runs this).
#   env      print the TASKSTORE_PG=... line of the cluster in DIR.
# Typical use:
#   export "$(bash ci/postgres-cluster.sh start /tmp/pgtest | tail -n 1)"
#   trap 'bash ci/postgres-cluster.sh stop /tmp/pgtest' EXIT
set -euo pipefail

usage() {
  echo "usage: $0 start|stop|restart|env DIR" >&2
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

case $command in
  start) start ;;
  stop) stop ;;
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
