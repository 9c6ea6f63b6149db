#!/usr/bin/env bash
# postgres.sh: PostgreSQL on 127.0.0.1:5432 for local work and CI, without Docker.
#
#   deploy/local/postgres.sh start     install (Debian packages, once), create the cluster, start
#   deploy/local/postgres.sh stop      stop it
#   deploy/local/postgres.sh status    version, data directory
#   deploy/local/postgres.sh version   the running server's version
#
# Uses Debian's binaries from /usr/lib/postgresql/<major>/bin explicitly (other
# initdb/pg_ctl builds on PATH are ignored) and a cluster of its own, not the
# package's "main" cluster. PostgreSQL refuses to run as root, so as root the
# cluster belongs to the postgres user and lives under its home:
# ${SLUICE_PG_DIR:-/var/lib/postgresql/sluice}; as another user it lives under
# $SLUICE_STATE/postgres. Creates role sluice (password sluice, CREATEDB) and
# database sluice, idempotently:
#   DATABASE_URL=postgres://sluice:sluice@127.0.0.1:5432/sluice?sslmode=disable
set -euo pipefail
SERVICE=postgres
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

HOST=127.0.0.1
PORT=5432
DB_USER=sluice
DB_PASSWORD=sluice
DB_NAME=sluice
URL="postgres://$DB_USER:$DB_PASSWORD@$HOST:$PORT/$DB_NAME?sslmode=disable"

if [[ $EUID -eq 0 ]]; then
	OS_USER=postgres
	ROOT_DIR=${SLUICE_PG_DIR:-/var/lib/postgresql/sluice}
else
	OS_USER=$(id -un)
	ROOT_DIR=${SLUICE_PG_DIR:-$SLUICE_STATE/postgres}
fi
PGDATA_DIR=$ROOT_DIR/data
SOCKET_DIR=$ROOT_DIR/run
LOG=$ROOT_DIR/postgres.log

# pgbin: the newest Debian PostgreSQL installed, e.g. /usr/lib/postgresql/15/bin.
pgbin() {
	local d best="" bestv=0 v
	for d in /usr/lib/postgresql/*/bin; do
		[[ -x $d/pg_ctl && -x $d/initdb && -x $d/postgres ]] || continue
		v=$(basename "$(dirname "$d")")
		[[ $v =~ ^[0-9]+$ ]] || continue
		if ((v > bestv)); then
			best=$d
			bestv=$v
		fi
	done
	echo "$best"
}

as_owner() { # run a command as the cluster's OS user, from a directory it can read
	if [[ $EUID -eq 0 ]]; then
		(cd / && runuser -u "$OS_USER" -- "$@")
	else
		(cd / && "$@")
	fi
}

superuser_sql() { # psql as the cluster's superuser (named like its OS user) over the private socket, peer auth
	as_owner "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCKET_DIR" -p "$PORT" -U "$OS_USER" -d postgres "$@"
}

running() { [[ -f $PGDATA_DIR/PG_VERSION ]] && as_owner "$BIN/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1; }
ready() { "$BIN/pg_isready" -q -h "$HOST" -p "$PORT" -d "$DB_NAME" -U "$DB_USER"; }
server_version() { PGCONNECT_TIMEOUT=5 "$BIN/psql" -X -Atc 'show server_version' "$URL" 2>/dev/null | awk '{print $1}'; }

ensure_installed() {
	BIN=$(pgbin)
	if [[ -z $BIN ]]; then
		apt_install postgresql
		BIN=$(pgbin)
		[[ -n $BIN ]] || die "PostgreSQL installed, but no /usr/lib/postgresql/<major>/bin/pg_ctl found"
	fi
}

init_cluster() {
	if [[ -f $PGDATA_DIR/PG_VERSION ]]; then
		local have want
		have=$(<"$PGDATA_DIR/PG_VERSION")
		want=$(basename "$(dirname "$BIN")")
		if [[ $have != "$want" ]]; then
			die "$PGDATA_DIR holds a PostgreSQL $have cluster but the installed server is $want; remove $ROOT_DIR to start afresh"
		fi
		return 0
	fi
	say "creating a cluster in $PGDATA_DIR (owner $OS_USER)"
	if [[ $EUID -eq 0 ]]; then
		install -d -o "$OS_USER" -g "$(id -gn "$OS_USER")" -m 0700 "$ROOT_DIR"
	else
		install -d -m 0700 "$ROOT_DIR"
	fi
	as_owner mkdir -p "$SOCKET_DIR"
	as_owner "$BIN/initdb" -D "$PGDATA_DIR" -U "$OS_USER" -E UTF8 --no-locale \
		--auth-local=peer --auth-host=scram-sha-256 >"$ROOT_DIR/initdb.log" 2>&1 || {
		show_log "$ROOT_DIR/initdb.log"
		die "initdb failed"
	}
	as_owner sh -c "cat >>'$PGDATA_DIR/postgresql.conf'" <<EOF

# --- added by deploy/local/postgres.sh ---
listen_addresses = '$HOST'
port = $PORT
unix_socket_directories = '$SOCKET_DIR'
max_connections = 200
# a scratch database for tests: a crash may lose the last commits, never corrupts
synchronous_commit = off
EOF
}

ensure_role_and_db() {
	superuser_sql <<EOF
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_USER') THEN
    CREATE ROLE $DB_USER LOGIN CREATEDB PASSWORD '$DB_PASSWORD';
  ELSE
    ALTER ROLE $DB_USER LOGIN CREATEDB PASSWORD '$DB_PASSWORD';
  END IF;
END
\$\$;
SELECT 'CREATE DATABASE $DB_NAME OWNER $DB_USER' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$DB_NAME')\gexec
EOF
}

start() {
	with_lock postgres
	ensure_installed
	if running; then
		ensure_role_and_db
		say "already running: PostgreSQL $(server_version), DATABASE_URL=$URL"
		say "stop with: $here/postgres.sh stop"
		return 0
	fi
	if port_open "$HOST" "$PORT"; then
		who_listens "$PORT" >&2
		die "port $HOST:$PORT is taken by another process (not started by this script; the Debian 'main' cluster? try: pg_ctlcluster $(basename "$(dirname "$BIN")") main stop)"
	fi
	init_cluster
	as_owner mkdir -p "$SOCKET_DIR"
	say "starting PostgreSQL $(basename "$(dirname "$BIN")") from $BIN"
	if ! as_owner "$BIN/pg_ctl" -D "$PGDATA_DIR" -l "$LOG" -w -t 60 start >/dev/null 9>&-; then
		show_log "$LOG"
		die "pg_ctl start failed"
	fi
	if ! wait_until 30 "$BIN/pg_isready" -q -h "$HOST" -p "$PORT"; then
		show_log "$LOG"
		die "PostgreSQL does not accept connections on $HOST:$PORT"
	fi
	ensure_role_and_db
	if ! ready || [[ -z $(server_version) ]]; then
		show_log "$LOG"
		die "cannot connect with $URL"
	fi
	say "running: PostgreSQL $(server_version), DATABASE_URL=$URL"
	say "data: $PGDATA_DIR   log: $LOG   stop with: $here/postgres.sh stop"
}

stop() {
	with_lock postgres
	BIN=$(pgbin)
	if [[ -n $BIN ]] && running; then
		say "stopping PostgreSQL"
		as_owner "$BIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w -t 60 stop >/dev/null
		say "PostgreSQL stopped"
	else
		say "not running"
	fi
}

status() {
	BIN=$(pgbin)
	if [[ -n $BIN ]] && running; then
		say "running: PostgreSQL $(server_version), data $PGDATA_DIR, DATABASE_URL=$URL"
	else
		say "stopped"
		return 3
	fi
}

case ${1:-} in
start) start ;;
stop) stop ;;
status) status ;;
version)
	BIN=$(pgbin)
	[[ -n $BIN ]] && running || die "not running"
	server_version
	;;
*)
	echo "usage: $0 start|stop|status|version" >&2
	exit 2
	;;
esac
