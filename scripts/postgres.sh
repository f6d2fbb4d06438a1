#!/usr/bin/env bash
# Starts a private PostgreSQL cluster on 127.0.0.1 for the tests, as the unprivileged `postgres` user, in a
# temporary directory. Prints the connection URL on stdout. Stop it with: scripts/postgres.sh stop DIR
# Tests run it with fsync off (speed); benchmarks set HYGIE_PG_DURABLE=1 to keep PostgreSQL's durable defaults.
set -euo pipefail

if [ "${1:-}" = "stop" ]; then
    dir=$2
    [ -d "$dir" ] && su postgres -s /bin/sh -c "pg_ctl -D '$dir/data' -m fast stop" >/dev/null 2>&1 || true
    rm -rf "$dir"
    exit 0
fi

if ! command -v pg_ctl >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
    echo "installing PostgreSQL from Debian packages…" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
bindir=$(dirname "$(ls /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -1)")
dir=$(mktemp -d /tmp/hygie-pg.XXXXXX)
fsync="-c fsync=off"
[ "${HYGIE_PG_DURABLE:-}" = 1 ] && fsync=""
chown postgres "$dir"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
password=$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')
echo "$password" > "$dir/pwfile"
chown postgres "$dir/pwfile"
su postgres -s /bin/sh -c "'$bindir/initdb' -D '$dir/data' -U hygie --pwfile='$dir/pwfile' -A scram-sha-256 >/dev/null"
su postgres -s /bin/sh -c "'$bindir/pg_ctl' -D '$dir/data' -l '$dir/log' -w -o \"-c listen_addresses=127.0.0.1 -p $port -k '$dir' $fsync -c max_connections=300\" start >/dev/null"
echo "$dir postgres://hygie:$password@127.0.0.1:$port/postgres"
