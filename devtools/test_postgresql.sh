#!/usr/bin/env bash
# A local PostgreSQL database for the test suite (used by .ci/run; runs as root, like CI).
#
#   devtools/test_postgresql.sh create NAME   install Debian's postgresql if missing, start its cluster if
#                                             stopped, let this user in, (re)create database NAME; the last
#                                             line printed is its URL, for TEST_DATABASE_URL
#   devtools/test_postgresql.sh drop NAME     drop database NAME
#
# Local sockets use peer authentication, so the current user gets a PostgreSQL superuser role of the same
# name and connects through the socket directory: postgresql+psycopg:///NAME?host=/var/run/postgresql
set -euo pipefail

action=${1:?usage: $0 create|drop DATABASE}
db=${2:?usage: $0 create|drop DATABASE}
socket_dir=/var/run/postgresql
me=$(id -un)

as_postgres() { if [ "$(id -u)" -eq 0 ]; then su postgres -c "$*"; else sudo -n -u postgres sh -c "$*"; fi; }

cluster() {  # "VERSION NAME PORT STATUS" of the first cluster, if any
  pg_lsclusters --no-header 2>/dev/null | awk 'NR == 1 { print $1, $2, $3, $4 }'
}

ensure_server() {
  if ! command -v pg_lsclusters >/dev/null 2>&1; then
    echo "Installing PostgreSQL (Debian's postgresql package)..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2
    apt-get install -y -q postgresql >&2
  fi
  if [ -z "$(cluster)" ]; then
    version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
    echo "Creating PostgreSQL cluster $version/main..." >&2
    pg_createcluster "$version" main >&2
  fi
  read -r version name port status <<<"$(cluster)"
  case $status in
    online*) ;;
    *)
      echo "Starting PostgreSQL $version/$name..." >&2
      pg_ctlcluster --skip-systemctl-redirect "$version" "$name" start >&2
      ;;
  esac
  for _ in $(seq 1 60); do
    pg_isready -q -h "$socket_dir" -p "$port" && break
    sleep 0.5
  done
  pg_isready -h "$socket_dir" -p "$port" >&2
  PGPORT=$port
  export PGHOST=$socket_dir PGPORT
}

case $action in
  create)
    ensure_server
    output=$(as_postgres "createuser -p $PGPORT -s '$me'" 2>&1) || case $output in
      *"already exists"*) ;;
      *) echo "$output" >&2; exit 1 ;;
    esac
    dropdb --if-exists "$db"
    createdb "$db"
    echo "PostgreSQL database $db is ready (PostgreSQL $(psql -d "$db" -Atc 'SHOW server_version'))." >&2
    port_query=""
    [ "$PGPORT" = 5432 ] || port_query="&port=$PGPORT"
    echo "postgresql+psycopg:///$db?host=$socket_dir$port_query"
    ;;
  drop)
    read -r _ _ port _ <<<"$(cluster)"
    dropdb -h "$socket_dir" -p "${port:-5432}" --if-exists "$db"
    ;;
  *)
    echo "usage: $0 create|drop DATABASE" >&2
    exit 2
    ;;
esac
