# shellcheck shell=bash
# Shared helpers for the scripts in deploy/local. Sourced, never run.
#
# Layout (both overridable):
#   ${SLUICE_CACHE:-$HOME/.cache/sluice}        downloads kept between runs
#   ${SLUICE_STATE:-$HOME/.local/state/sluice}  data, pid files and logs of running services

SLUICE_CACHE=${SLUICE_CACHE:-${HOME:?HOME is not set}/.cache/sluice}
SLUICE_STATE=${SLUICE_STATE:-$HOME/.local/state/sluice}
export SLUICE_CACHE SLUICE_STATE

say() { printf '[%s] %s\n' "${SERVICE:-sluice}" "$*"; }
warn() { printf '[%s] WARNING: %s\n' "${SERVICE:-sluice}" "$*" >&2; }
die() {
	printf '[%s] ERROR: %s\n' "${SERVICE:-sluice}" "$*" >&2
	exit 1
}

# show_log FILE [LINES]: the tail of a log, for failure messages.
show_log() {
	local f=$1 n=${2:-40}
	if [[ -s $f ]]; then
		printf '[%s] ---- last %s lines of %s ----\n' "${SERVICE:-sluice}" "$n" "$f" >&2
		tail -n "$n" "$f" >&2
		printf '[%s] ---- end of %s ----\n' "${SERVICE:-sluice}" "$f" >&2
	else
		printf '[%s] (%s is empty or missing)\n' "${SERVICE:-sluice}" "$f" >&2
	fi
}

# port_open HOST PORT: true when something accepts TCP connections there.
port_open() {
	(exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# who_listens PORT: a best-effort description of the process on a port.
who_listens() {
	if command -v ss >/dev/null 2>&1; then
		ss -Hltnp "sport = :$1" 2>/dev/null | sed 's/^/    /' || true
	fi
}

# pid_alive PIDFILE [PATTERN]: true when the pid in PIDFILE runs and, if
# PATTERN is given, its command line contains PATTERN.
pid_alive() {
	local file=$1 pattern=${2:-} pid
	[[ -s $file ]] || return 1
	pid=$(<"$file")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	if [[ -n $pattern ]]; then
		tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$pattern" || return 1
	fi
}

# stop_pid PIDFILE NAME [SECONDS]: TERM, wait, then KILL.
stop_pid() {
	local file=$1 name=$2 grace=${3:-60} pid i
	pid=$(<"$file")
	say "stopping $name (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < grace * 2; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.5
	done
	if kill -0 "$pid" 2>/dev/null; then
		warn "$name did not stop within ${grace}s; killing it"
		kill -KILL "$pid" 2>/dev/null || true
		sleep 1
	fi
	rm -f "$file"
	say "$name stopped"
}

# with_lock NAME: serialise start/stop of one service (two `make services`
# at once must not start two brokers). Holds the lock until the script exits.
with_lock() {
	mkdir -p "$SLUICE_STATE"
	exec 9>"$SLUICE_STATE/.$1.lock"
	if command -v flock >/dev/null 2>&1; then
		flock -w 600 9 || die "another start/stop of $1 holds $SLUICE_STATE/.$1.lock"
	fi
}

# as_root CMD...: run as root (directly, or through passwordless sudo).
as_root() {
	if [[ $EUID -eq 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		sudo -n "$@"
	else
		die "need root to run: $*  (run this script as root, or install the packages yourself)"
	fi
}

# pkg_installed PKG: true when dpkg has it installed.
pkg_installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# apt_install PKG...: install the Debian packages that are missing.
# Runs `apt-get update` only when a package has no install candidate, or when
# the install fails on stale lists. Never starts services: with no policy-rc.d
# in place a temporary one (exit 101) keeps the packages' init scripts from
# starting their own Redis or PostgreSQL on our ports.
apt_install() {
	local missing=() p
	for p in "$@"; do
		pkg_installed "$p" || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	mkdir -p "$SLUICE_STATE"
	command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and apt-get is not available; install them yourself"
	say "installing Debian packages: ${missing[*]}"
	local t0=$SECONDS policy=/usr/sbin/policy-rc.d own_policy=0
	if [[ ! -e $policy ]]; then
		as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
		own_policy=1
	fi
	local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=300)
	local need_update=0
	for p in "${missing[@]}"; do
		if ! apt-cache show "$p" >/dev/null 2>&1; then need_update=1; fi
	done
	local rc=0
	if ((need_update)); then
		say "apt-get update (package lists lack ${missing[*]})"
		as_root "${apt[@]}" update >/dev/null || rc=$?
	fi
	if ((rc == 0)); then
		if ! as_root "${apt[@]}" install --no-install-recommends "${missing[@]}" >"$SLUICE_STATE/apt.log" 2>&1; then
			say "install failed; refreshing package lists and retrying once"
			as_root "${apt[@]}" update >/dev/null &&
				as_root "${apt[@]}" install --no-install-recommends "${missing[@]}" >"$SLUICE_STATE/apt.log" 2>&1 || rc=$?
		fi
	fi
	if ((own_policy)); then as_root rm -f "$policy"; fi
	if ((rc != 0)); then
		show_log "$SLUICE_STATE/apt.log" 30
		die "could not install ${missing[*]} from Debian packages"
	fi
	say "installed ${missing[*]} in $((SECONDS - t0))s"
}

# wait_until SECONDS CHECK_CMD...: poll CHECK_CMD every half second.
wait_until() {
	local limit=$1 i
	shift
	for ((i = 0; i < limit * 2; i++)); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.5
	done
	return 1
}

# Maven: the local repository every script shares, and the plugin version
# that copies a class path.
MAVEN_REPO=${SLUICE_MAVEN_REPO:-$SLUICE_CACHE/maven}
DEPENDENCY_PLUGIN=3.8.1

# runtime_pom FILE NAME VERSION DEPENDENCIES: write a pom whose runtime
# class path is DEPENDENCIES (<dependency> elements), for maven_copy.
runtime_pom() {
	cat >"$1" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by deploy/local: the runtime class path of $2. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.sluice</groupId>
  <artifactId>$2</artifactId>
  <version>$3</version>
  <packaging>pom</packaging>
  <dependencies>
$4
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-dependency-plugin</artifactId>
        <version>$DEPENDENCY_PLUGIN</version>
      </plugin>
    </plugins>
  </build>
</project>
EOF
}

# maven_copy POM OUT LOG: copy the runtime class path of POM into OUT with
# Maven, its output in LOG.
maven_copy() {
	mkdir -p "$MAVEN_REPO"
	mvn -B -q -ntp -Dstyle.color=never \
		-Dmaven.repo.local="$MAVEN_REPO" \
		-Dmaven.wagon.http.retryHandler.count=3 \
		-f "$1" \
		dependency:copy-dependencies \
		-DincludeScope=runtime -DoutputDirectory="$2" >"$3" 2>&1
}
