#!/usr/bin/env bash
# redis.sh: a Redis server on 127.0.0.1:6379 for local work and CI, without Docker.
#
#   deploy/local/redis.sh start     install (Debian package, once) and start; waits for PONG
#   deploy/local/redis.sh stop      stop it
#   deploy/local/redis.sh status    version, pid, address
#   deploy/local/redis.sh version   the running server's version
#
# Runs redis-server itself (daemonized, its own dir, pid file and log under
# $SLUICE_STATE/redis); it does not use the package's init script or systemd.
# Data is not persisted: it is a scratch instance for tests and `make services`.
set -euo pipefail
SERVICE=redis
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

HOST=127.0.0.1
PORT=6379
STATE=$SLUICE_STATE/redis
PIDFILE=$STATE/redis.pid
LOG=$STATE/redis.log
URL="redis://$HOST:$PORT/0"

ping() { [[ $(redis-cli -h "$HOST" -p "$PORT" ping 2>/dev/null) == PONG ]]; }
running() { pid_alive "$PIDFILE" redis-server; }
server_version() {
	redis-cli -h "$HOST" -p "$PORT" info server 2>/dev/null | tr -d '\r' | sed -n 's/^redis_version://p'
}

start() {
	with_lock redis
	if running && ping; then
		say "already running: Redis $(server_version), REDIS_URL=$URL (pid $(<"$PIDFILE"))"
		say "stop with: $here/redis.sh stop"
		return 0
	fi
	if port_open "$HOST" "$PORT"; then
		who_listens "$PORT" >&2
		die "port $HOST:$PORT is taken by another process (not started by this script); stop it first"
	fi
	if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
		apt_install redis-server redis-tools
	fi
	mkdir -p "$STATE"
	: >"$LOG"
	say "starting $(redis-server --version | awk '{print $1, $2, $3}')"
	# save "" and appendonly no: nothing is written to disk.
	redis-server --bind "$HOST" --port "$PORT" --protected-mode yes \
		--daemonize yes --supervised no \
		--dir "$STATE" --pidfile "$PIDFILE" --logfile "$LOG" \
		--save "" --appendonly no 9>&- ||
		{
			show_log "$LOG"
			die "redis-server failed to start"
		}
	if ! wait_until 30 ping; then
		show_log "$LOG"
		die "Redis did not answer PING on $HOST:$PORT within 30s"
	fi
	say "running: Redis $(server_version), REDIS_URL=$URL (pid $(<"$PIDFILE"))"
	say "log: $LOG   stop with: $here/redis.sh stop"
}

stop() {
	with_lock redis
	if running; then
		stop_pid "$PIDFILE" "Redis" 30
	else
		rm -f "$PIDFILE"
		say "not running"
	fi
}

status() {
	if running; then
		say "running: Redis $(server_version), pid $(<"$PIDFILE"), REDIS_URL=$URL"
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
	running || die "not running"
	server_version
	;;
*)
	echo "usage: $0 start|stop|status|version" >&2
	exit 2
	;;
esac
