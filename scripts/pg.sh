#!/usr/bin/env bash
# Start a throw-away PostgreSQL 15 (Debian 12 packages) for the catalog tests, as root without
# systemd. fitslake needs no extension: its spatial index is a HEALPix B-tree on plain columns.
#   connect: postgresql://postgres@127.0.0.1:${PG_PORT:-55432}/${PG_DB:-test}  (trust auth, loopback only)
# Idempotent: installs packages if missing, initdb only if $PG_DATA is empty, starts only if not
# already accepting connections, CREATE EXTENSION IF NOT EXISTS.
# Stop:  pg.sh stop        Stop and delete the data:  PG_WIPE=1 pg.sh stop
# $PG_DATA's parent directories must be traversable by the 'postgres' OS user (/tmp is; /root is not).
set -euo pipefail
DATA=${PG_DATA:-/tmp/pg-test}
PORT=${PG_PORT:-55432}
DB=${PG_DB:-test}
BIN=/usr/lib/postgresql/15/bin

if [ "${1:-}" = stop ]; then
  if [ -f "$DATA/postmaster.pid" ]; then runuser -u postgres -- "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null || true; fi
  [ "${PG_WIPE:-0}" = 1 ] && rm -rf "$DATA"
  echo "pg: stopped"; exit 0
fi

pkgs="postgresql-15"
if ! dpkg -s $pkgs >/dev/null 2>&1; then
  apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null   # a fresh machine has stale/no lists
  # Debian's post-install may create and try to start a 'main' cluster on 5432; without
  # systemd it is left 'down' (harmless; we do not use it).
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends $pkgs >/dev/null
fi

if ! "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
  if [ ! -f "$DATA/PG_VERSION" ]; then
    mkdir -p "$DATA"; chown postgres:postgres "$DATA"; chmod 700 "$DATA"
    # -N: no fsync during initdb (test data only); C.UTF-8 exists on every Debian system
    runuser -u postgres -- "$BIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 -N >/dev/null
  fi
  # Durability off: this server is for tests only. Unix socket goes into $DATA.
  runuser -u postgres -- "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DATA -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null
fi

psql=(psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres)
"${psql[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$DB'" | grep -q 1 ||
  "${psql[@]}" -d postgres -c "CREATE DATABASE \"$DB\""
echo "pg: up on postgresql://postgres@127.0.0.1:$PORT/$DB (data $DATA)"
