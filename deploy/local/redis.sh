#!/usr/bin/env bash
# redis.sh: a Redis server on 127.0.0.1:6379 for local work and CI, without Docker.
#
#   deploy/local/redis.sh start     install (Debian package, once) and start; waits for PONG
#   deploy/local/redis.sh stop      stop it
#   deploy/local/redis.sh status    version, pid, address
#   deploy/local/redis.sh version   the running server's version
#   deploy/local/redis.sh cluster-status   whether the Redis Cluster is up (exit 3 if not)
#
# Runs redis-server itself (daemonized, its own dir, pid file and log under
# $SLUICE_STATE/redis); it does not use the package's init script or systemd.
# Data is not persisted: it is a scratch instance for tests and `make services`.
#
# start also starts a Redis Cluster of three masters (no replicas) on
# 127.0.0.1:7000-7002, made anew each time it was down, so that the tests
# of what uses Redis run once more on a cluster (REDIS_CLUSTER_URL, see
# the Makefile's test target): keys of many slots, MOVED redirects, and a
# server that refuses a command naming keys of two slots. stop stops it
# too.
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

CLUSTER_PORTS=(7000 7001 7002)
CLUSTER_URL=$HOST:7000,$HOST:7001,$HOST:7002

ping() { [[ $(redis-cli -h "$HOST" -p "${1:-$PORT}" ping 2>/dev/null) == PONG ]]; }
running() { pid_alive "$PIDFILE" redis-server; }
server_version() {
	redis-cli -h "$HOST" -p "$PORT" info server 2>/dev/null | tr -d '\r' | sed -n 's/^redis_version://p'
}

start() {
	with_lock redis
	if running && ping; then
		say "already running: Redis $(server_version), REDIS_URL=$URL (pid $(<"$PIDFILE"))"
		start_cluster
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
	start_cluster
	say "log: $LOG   stop with: $here/redis.sh stop"
}

cluster_pid() { echo "$STATE/cluster-$1/redis.pid"; }
cluster_node_running() { pid_alive "$(cluster_pid "$1")" redis-server; }
cluster_ok() {
	redis-cli -h "$HOST" -p "${CLUSTER_PORTS[0]}" cluster info 2>/dev/null | tr -d '\r' | grep -qx 'cluster_state:ok'
}

# start_cluster starts the three masters and joins them, anew unless all
# three run and the cluster is ok.
start_cluster() {
	local p all=1
	for p in "${CLUSTER_PORTS[@]}"; do
		cluster_node_running "$p" || all=0
	done
	if ((all)) && cluster_ok; then
		say "already running: Redis Cluster, REDIS_CLUSTER_URL=$CLUSTER_URL"
		return 0
	fi
	stop_cluster
	for p in "${CLUSTER_PORTS[@]}"; do
		if port_open "$HOST" "$p"; then
			who_listens "$p" >&2
			die "port $HOST:$p is taken by another process (not started by this script); stop it first"
		fi
		rm -rf "$STATE/cluster-$p"
		mkdir -p "$STATE/cluster-$p"
		redis-server --bind "$HOST" --port "$p" --protected-mode yes \
			--daemonize yes --supervised no --cluster-enabled yes \
			--cluster-config-file "$STATE/cluster-$p/nodes.conf" \
			--dir "$STATE/cluster-$p" --pidfile "$(cluster_pid "$p")" --logfile "$STATE/cluster-$p/redis.log" \
			--save "" --appendonly no 9>&- ||
			{
				show_log "$STATE/cluster-$p/redis.log"
				die "redis-server (cluster node $p) failed to start"
			}
	done
	for p in "${CLUSTER_PORTS[@]}"; do
		wait_until 30 ping "$p" || {
			show_log "$STATE/cluster-$p/redis.log"
			die "the Redis Cluster node on $HOST:$p did not answer PING within 30s"
		}
	done
	local nodes=()
	for p in "${CLUSTER_PORTS[@]}"; do
		nodes+=("$HOST:$p")
	done
	redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$STATE/cluster-create.log" 2>&1 ||
		{
			show_log "$STATE/cluster-create.log"
			die "redis-cli --cluster create failed"
		}
	if ! wait_until 30 cluster_ok; then
		redis-cli -h "$HOST" -p "${CLUSTER_PORTS[0]}" cluster info >&2 || true
		die "the Redis Cluster did not reach cluster_state:ok within 30s"
	fi
	say "running: Redis Cluster of ${#CLUSTER_PORTS[@]} masters, REDIS_CLUSTER_URL=$CLUSTER_URL"
}

stop_cluster() {
	local p
	for p in "${CLUSTER_PORTS[@]}"; do
		if cluster_node_running "$p"; then
			stop_pid "$(cluster_pid "$p")" "Redis Cluster node $p" 30
		fi
	done
}

cluster_status() {
	local p
	for p in "${CLUSTER_PORTS[@]}"; do
		if ! cluster_node_running "$p"; then
			say "Redis Cluster: stopped"
			return 3
		fi
	done
	if ! cluster_ok; then
		say "Redis Cluster: its nodes run, but it is not ok"
		return 3
	fi
	say "Redis Cluster running: REDIS_CLUSTER_URL=$CLUSTER_URL"
}

stop() {
	with_lock redis
	if running; then
		stop_pid "$PIDFILE" "Redis" 30
	else
		rm -f "$PIDFILE"
		say "not running"
	fi
	stop_cluster
}

status() {
	if running; then
		say "running: Redis $(server_version), pid $(<"$PIDFILE"), REDIS_URL=$URL"
		cluster_status || true
	else
		say "stopped"
		return 3
	fi
}

case ${1:-} in
start) start ;;
stop) stop ;;
status) status ;;
cluster-status) cluster_status ;;
version)
	running || die "not running"
	server_version
	;;
*)
	echo "usage: $0 start|stop|status|version|cluster-status" >&2
	exit 2
	;;
esac
