# scripts/lib.sh: shared set-up steps of the demo, the test suite and the benches.
# Source it; every function prints what it does on stderr.

CS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CS_PGBIN=${CS_PGBIN:-/usr/lib/postgresql/15/bin}

cs_say() { printf '==> %s\n' "$*" >&2; }

# Run a command as root (apt-get, make install).
cs_as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Run a server-side command (initdb, pg_ctl) as the account that owns the data:
# PostgreSQL refuses to run as root, so root uses the postgres account.
cs_as_server() {
	if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Debian packages the build, the tests and the benches need.
CS_PACKAGES="build-essential pkg-config postgresql-15 postgresql-server-dev-15 \
postgresql-15-cron libopenblas-dev"

cs_install_packages() {
	local missing="" p
	for p in $CS_PACKAGES "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		cs_say "installing Debian packages:$missing"
		cs_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || true
		cs_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >&2
	fi
}

# Build and install under one lock: several working trees (and engineers) share
# this machine's pkglibdir, and a half-copied coldstart.so must never be loaded.
CS_BUILD_LOCK=${CS_BUILD_LOCK:-/tmp/coldstart-build.lock}

cs_build_install() {
	(
		: >>"$CS_BUILD_LOCK" 2>/dev/null || true
		exec 9<"$CS_BUILD_LOCK" || exit 1
		flock -n 9 || { cs_say "waiting for $CS_BUILD_LOCK (another build or install)"; flock 9; }
		cs_say "building coldstart in $CS_ROOT"
		make -C "$CS_ROOT" -s -j"$(nproc)" PG_CONFIG="$CS_PGBIN/pg_config" WERROR=1 >&2 || exit 1
		cs_say "installing coldstart into $("$CS_PGBIN/pg_config" --pkglibdir)"
		cs_as_root make -C "$CS_ROOT" -s PG_CONFIG="$CS_PGBIN/pg_config" WERROR=1 install >&2
	)
}

# A free TCP port on 127.0.0.1.
cs_free_port() {
	local port
	for _ in $(seq 1 200); do
		port=$(( 20000 + RANDOM % 20000 ))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	return 1
}

# cs_pg_dir NAME: the folder for the private server NAME: .pg/NAME in this
# working tree, or a folder under /tmp when the postgres account cannot reach the
# working tree (a clone under /root, for instance).
cs_pg_dir() {
	if [ "$(id -u)" -ne 0 ] || runuser -u postgres -- test -r "$CS_ROOT/Makefile" 2>/dev/null; then
		echo "$CS_ROOT/.pg/$1"
	else
		echo "/tmp/coldstart-$(printf %s "$CS_ROOT" | cksum | cut -d' ' -f1)/$1"
	fi
}

# cs_server_running DIR: true if the server whose data is DIR/data is up.
cs_server_running() {
	[ -f "$1/data/postmaster.pid" ] &&
		cs_as_server "$CS_PGBIN/pg_ctl" -D "$1/data" status >/dev/null 2>&1
}

# cs_server_env DIR: export PGHOST, PGPORT, PGUSER for the running server of DIR
# (its port is line 4 of postmaster.pid) and write DIR/env for humans to source.
cs_server_env() {
	local dir port
	dir=$(cd "$1" && pwd)
	port=$(sed -n 4p "$dir/data/postmaster.pid" 2>/dev/null)
	[ -n "$port" ] || { cs_say "no server running in $dir"; return 1; }
	export PGHOST="$dir/sock" PGPORT="$port" PGUSER=postgres
	printf 'export PGHOST=%s PGPORT=%s PGUSER=postgres PGDATABASE=coldstart\n' \
		"$PGHOST" "$PGPORT" >"$dir/env"
}

# cs_server_start DIR [extra postgresql.conf lines...]
# Creates (if needed) and starts a private server whose data, socket and log
# live in DIR; exports PGHOST, PGPORT, PGUSER, PGDATABASE for it and writes
# them to DIR/env.  A server already running in DIR is reused as it is.
cs_server_start() {
	local dir=$1; shift
	local port attempt line
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	# A Unix socket path holds at most 107 bytes.
	if [ ${#dir} -gt 85 ]; then
		cs_say "server folder path too long for a Unix socket: $dir"
		return 1
	fi
	if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
	if cs_server_running "$dir"; then
		cs_say "reusing the PostgreSQL server running in $dir"
		[ $# -eq 0 ] || cs_say "(its settings are left as they are; stop it to apply: $*)"
	else
		if [ ! -f "$dir/data/PG_VERSION" ]; then
			cs_say "initdb $dir/data"
			cs_as_server "$CS_PGBIN/initdb" -D "$dir/data" -U postgres --auth=trust \
				--no-sync -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
				{ cat "$dir/initdb.log" >&2; return 1; }
		fi
		cs_as_server mkdir -p "$dir/sock"
		# The free port may be taken between the check and the start: retry.
		for attempt in 1 2 3; do
			port=$(cs_free_port) || { cs_say "no free port"; return 1; }
			cat >"$dir/conf.tmp" <<CONF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir/sock'
shared_preload_libraries = 'pg_cron'
cron.database_name = 'coldstart'
cron.host = '$dir/sock'
max_worker_processes = 16
wal_level = replica
max_wal_senders = 4
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 256MB
max_connections = 50
lc_messages = 'C'
CONF
			for line in "$@"; do echo "$line" >>"$dir/conf.tmp"; done
			if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir/conf.tmp"; fi
			cs_as_server cp "$dir/conf.tmp" "$dir/data/postgresql.auto.conf"
			rm -f "$dir/conf.tmp"
			cs_say "starting PostgreSQL on port $port (socket $dir/sock)"
			if cs_as_server "$CS_PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
				start >/dev/null; then
				break
			fi
			if [ "$attempt" -lt 3 ] && tail -5 "$dir/server.log" | grep -q "Address already in use"; then
				continue
			fi
			tail -20 "$dir/server.log" >&2
			return 1
		done
	fi
	cs_server_env "$dir" || return 1
	"$CS_PGBIN/psql" -X -q -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'coldstart'" -tA | grep -q 1 ||
		"$CS_PGBIN/psql" -X -q -d postgres -c "CREATE DATABASE coldstart" >/dev/null ||
		return 1
	export PGDATABASE=coldstart
}

# cs_server_stop DIR
cs_server_stop() {
	local dir=$1
	if [ -f "$dir/data/postmaster.pid" ]; then
		cs_say "stopping PostgreSQL in $dir"
		cs_as_server "$CS_PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
	fi
}
