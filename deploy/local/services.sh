#!/usr/bin/env bash
# services.sh: the real services sluice's tests and roles use, without Docker.
#
#   deploy/local/services.sh start [--fresh] [kafka] [redis] [postgres]
#                                      install (once) and start; default all three;
#                                      --fresh starts Kafka from an empty log dir
#   deploy/local/services.sh stop  [kafka] [redis] [postgres]
#   deploy/local/services.sh status
#   deploy/local/services.sh env       export lines for the running services:
#                                      eval "$(deploy/local/services.sh env)"
#
# `make services` and `make services-stop` call this; CI (.ci/run) too.
# Kafka 4.x (KRaft) comes from Maven Central, Redis and PostgreSQL from
# Debian's packages. Start is idempotent: running it again changes nothing.
set -euo pipefail
SERVICE=services
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

KAFKA_BROKERS_VALUE=127.0.0.1:9092
REDIS_URL_VALUE=redis://127.0.0.1:6379/0
REDIS_CLUSTER_URL_VALUE=127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002
DATABASE_URL_VALUE='postgres://sluice:sluice@127.0.0.1:5432/sluice?sslmode=disable'

pick() { # the services named on the command line, default all three
	local s
	if (($# == 0)); then
		set -- kafka redis postgres
	fi
	for s in "$@"; do
		case $s in
		kafka | redis | postgres) echo "$s" ;;
		*) die "unknown service $s (want kafka, redis or postgres)" ;;
		esac
	done
}

env_lines() { # export lines for the services that run
	if "$here/kafka.sh" status >/dev/null 2>&1; then
		echo "export KAFKA_BROKERS=$KAFKA_BROKERS_VALUE"
	else
		echo "# kafka is not running: KAFKA_BROKERS left unset (tests use the embedded kfake)"
	fi
	if "$here/redis.sh" status >/dev/null 2>&1; then
		echo "export REDIS_URL=$REDIS_URL_VALUE"
		if "$here/redis.sh" cluster-status >/dev/null 2>&1; then
			echo "export REDIS_CLUSTER_URL=$REDIS_CLUSTER_URL_VALUE"
		else
			echo "# the Redis Cluster is not running: REDIS_CLUSTER_URL left unset (make test runs nothing on a cluster)"
		fi
	else
		echo "# redis is not running: REDIS_URL left unset (tests use the embedded miniredis)"
	fi
	if "$here/postgres.sh" status >/dev/null 2>&1; then
		echo "export DATABASE_URL='$DATABASE_URL_VALUE'"
	else
		echo "# postgres is not running: DATABASE_URL left unset (Postgres tests skip)"
	fi
}

start() {
	local want=() s t0=$SECONDS rc=0 kpid="" kout="$SLUICE_STATE/kafka-start.out" kargs=()
	if [[ ${1:-} == --fresh ]]; then
		kargs=(--fresh)
		shift
	fi
	pick "$@" >/dev/null
	mapfile -t want < <(pick "$@")
	mkdir -p "$SLUICE_STATE"
	# Debian packages first, in one apt run: apt cannot run twice at once.
	local pkgs=()
	for s in "${want[@]}"; do
		case $s in
		redis) command -v redis-server >/dev/null && command -v redis-cli >/dev/null || pkgs+=(redis-server redis-tools) ;;
		postgres) compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null || pkgs+=(postgresql) ;;
		kafka)
			command -v java >/dev/null || [[ -n ${JAVA_HOME:-} ]] || pkgs+=(openjdk-17-jre-headless)
			command -v mvn >/dev/null || [[ -f $SLUICE_CACHE/kafka/${KAFKA_VERSION:-4.4.0}/libs/.complete ]] || pkgs+=(maven)
			;;
		esac
	done
	if ((${#pkgs[@]})); then
		local t=$SECONDS
		apt_install "${pkgs[@]}"
		say "packages: $((SECONDS - t))s"
	fi
	# Kafka (download and JVM start) in the background while Redis and PostgreSQL start.
	if [[ " ${want[*]} " == *" kafka "* ]]; then
		say "starting kafka in the background (output follows when it is up)"
		(
			t=$SECONDS
			if "$here/kafka.sh" start "${kargs[@]}"; then
				echo "[kafka] took $((SECONDS - t))s"
			else
				r=$?
				echo "[kafka] FAILED after $((SECONDS - t))s"
				exit $r
			fi
		) >"$kout" 2>&1 9>&- &
		kpid=$!
	fi
	for s in redis postgres; do
		[[ " ${want[*]} " == *" $s "* ]] || continue
		local t=$SECONDS
		if "$here/$s.sh" start; then
			say "$s: $((SECONDS - t))s"
		else
			rc=1
			say "$s FAILED after $((SECONDS - t))s"
		fi
	done
	if [[ -n $kpid ]]; then
		if ! wait "$kpid"; then rc=1; fi
		cat "$kout"
	fi
	if ((rc != 0)); then
		die "not every service came up (see the messages above); $((SECONDS - t0))s"
	fi
	say "all up in $((SECONDS - t0))s. Use them with:"
	echo
	for s in "${want[@]}"; do
		case $s in
		kafka) echo "export KAFKA_BROKERS=$KAFKA_BROKERS_VALUE" ;;
		redis) echo "export REDIS_URL=$REDIS_URL_VALUE" ;;
		postgres) echo "export DATABASE_URL='$DATABASE_URL_VALUE'" ;;
		esac
	done
	echo
	say "or: eval \"\$($here/services.sh env)\"    stop with: $here/services.sh stop  (or make services-stop)"
}

stop() {
	local s rc=0
	pick "$@" >/dev/null
	for s in $(pick "$@"); do
		"$here/$s.sh" stop || rc=1
	done
	return $rc
}

status() {
	local s rc=0
	for s in kafka redis postgres; do
		"$here/$s.sh" status || rc=$?
	done
	return $rc
}

cmd=${1:-}
shift || true
case $cmd in
start) start "$@" ;;
stop) stop "$@" ;;
status) status ;;
env) env_lines ;;
*)
	echo "usage: $0 start [--fresh] [kafka] [redis] [postgres] | stop [kafka] [redis] [postgres] | status | env" >&2
	exit 2
	;;
esac
