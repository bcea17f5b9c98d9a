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

cs_build_install() {
	cs_say "building coldstart"
	make -C "$CS_ROOT" -s PG_CONFIG="$CS_PGBIN/pg_config" WERROR=1 >&2
	cs_say "installing coldstart into $("$CS_PGBIN/pg_config" --pkglibdir)"
	cs_as_root make -C "$CS_ROOT" -s PG_CONFIG="$CS_PGBIN/pg_config" install >&2
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

# cs_server_start DIR [extra postgresql.conf lines...]
# Creates (if needed) and starts a private server whose data, socket and log
# live in DIR; exports PGHOST, PGPORT, PGUSER, PGDATABASE for it.
cs_server_start() {
	local dir=$1; shift
	local port
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		cs_say "initdb $dir/data"
		cs_as_server "$CS_PGBIN/initdb" -D "$dir/data" -U postgres --auth=trust \
			--no-sync -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
			{ cat "$dir/initdb.log" >&2; return 1; }
	fi
	port=$(cs_free_port) || { cs_say "no free port"; return 1; }
	cs_as_server mkdir -p "$dir/sock"
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
	cs_as_server "$CS_PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null ||
		{ tail -20 "$dir/server.log" >&2; return 1; }
	export PGHOST="$dir/sock" PGPORT="$port" PGUSER=postgres
	psql -X -q -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'coldstart'" -tA | grep -q 1 ||
		psql -X -q -d postgres -c "CREATE DATABASE coldstart" >/dev/null
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
