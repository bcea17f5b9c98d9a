#!/usr/bin/env bash
# bench/valgrind.sh: the pg_regress suite against a private server whose
# postgres runs under valgrind (memcheck), then a report of the errors
# valgrind found, those in coldstart's code apart.  Not part of CI: it takes
# several minutes.
#
#   bash bench/valgrind.sh                      every test in sql/
#   bash bench/valgrind.sh model_type limits    some of them
#
# Every process of the server (postmaster, backends, background workers)
# runs under valgrind and logs to its own file in $CS_VALGRIND_DIR/vg/.  The
# exit status is 1 if valgrind saw an invalid read, write or free with a
# frame of coldstart in its stack, 0 otherwise; the pg_regress result is
# printed but does not decide it (timings differ under valgrind).
#
# A stock PostgreSQL build (no USE_VALGRIND) does not tell valgrind where
# palloc chunks begin and end: an access past a small chunk inside a memory
# context block goes unseen, while one past any allocation over 8 kB (each
# has a malloc'd block of its own: every vector, matrix, model and score
# array) is caught, as are uninitialised values and stack or global
# overruns.  Suppressions: PostgreSQL's src/tools/valgrind.supp when
# $PG_VALGRIND_SUPP names it, and bench/valgrind.supp for the stock build's
# own noise.
#
# Settings (environment): CS_VALGRIND_DIR (/tmp/coldstart-valgrind, deleted
# first), CS_PGBIN, PG_VALGRIND_SUPP.
set -uo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/../scripts" && pwd)/lib.sh"
cd "$CS_ROOT" || exit 1

dir=${CS_VALGRIND_DIR:-/tmp/coldstart-valgrind}
tests=${*:-$(ls sql/*.sql | sed 's|sql/||; s|\.sql$||' | tr '\n' ' ')}
command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
while read -r v; do unset "$v"; done < <(compgen -e | grep -E '^PG[A-Z]+$')

cs_server_stop "$dir" 2>/dev/null
rm -rf "$dir"
mkdir -p "$dir/sock" "$dir/vg" "$dir/regress"
chmod 777 "$dir/vg" "$dir/regress"
[ "$(id -u)" -ne 0 ] || chown -R postgres: "$dir"
cs_as_server "$CS_PGBIN/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync -E UTF8 \
	--locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log"; exit 1; }
port=$(cs_free_port)
cs_as_server tee -a "$dir/data/postgresql.auto.conf" >/dev/null <<CONF
port = $port
listen_addresses = ''
unix_socket_directories = '$dir/sock'
max_connections = 20
max_worker_processes = 16
shared_buffers = 64MB
fsync = off
jit = off
lc_messages = 'C'
log_min_messages = warning
CONF

supp=(--suppressions="$CS_ROOT/bench/valgrind.supp")
[ -n "${PG_VALGRIND_SUPP:-}" ] && supp+=(--suppressions="$PG_VALGRIND_SUPP")
cs_say "starting postgres under valgrind on port $port (logs in $dir/vg)"
# One BLAS thread, and kernels valgrind can run (it has no AVX-512).
cs_as_server env OPENBLAS_NUM_THREADS=1 OPENBLAS_CORETYPE=Haswell \
	valgrind --quiet --tool=memcheck --trace-children=yes --error-limit=no \
	--num-callers=40 --read-var-info=no --leak-check=no --track-origins=no \
	"${supp[@]}" --log-file="$dir/vg/%p.log" \
	"$CS_PGBIN/postgres" -D "$dir/data" >"$dir/server.log" 2>&1 &
for _ in $(seq 1 600); do
	"$CS_PGBIN/pg_isready" -q -h "$dir/sock" -p "$port" && break
	sleep 0.5
done
"$CS_PGBIN/pg_isready" -q -h "$dir/sock" -p "$port" || { cs_say "the server did not start"; tail "$dir/server.log"; exit 1; }

# Each test in a new database, as scripts/test.sh runs them.
cs_say "running pg_regress: $tests"
start=$SECONDS
regress_rc=0
: >"$dir/regress.log"
for t in $tests; do
	mkdir -p "$dir/regress/$t"
	chmod 777 "$dir/regress/$t"
	PGHOST="$dir/sock" PGPORT=$port PGUSER=postgres \
		make -s installcheck PG_CONFIG="$CS_PGBIN/pg_config" REGRESS="$t" \
		REGRESS_OPTS="--inputdir=. --outputdir=$dir/regress/$t --dbname=coldstart_valgrind" \
		>>"$dir/regress.log" 2>&1 || regress_rc=1
done
elapsed=$((SECONDS - start))
cs_say "stopping the server"
cs_as_server "$CS_PGBIN/pg_ctl" -D "$dir/data" -m fast -w -t 300 stop >/dev/null 2>&1
wait

# Valgrind's reports: blocks of "==PID== " lines separated by an empty one.
# A report is coldstart's when a frame of its stack is in coldstart.so or in
# one of its source files.
ours="coldstart\\.so|\\(($(ls src/*.c | xargs -n1 basename | sed 's/\.c$//' | paste -sd'|'))\\.c:[0-9]+\\)"
awk -v ours="$ours" -v outdir="$dir" '
	function flush() {
		if (head != "") {
			kind = head; sub(/ of size [0-9]+/, "", kind); sub(/ at 0x.*/, "", kind)
			total[kind]++
			if (block ~ ours) { mine[kind]++; print block "\n" > (outdir "/coldstart-errors.txt") }
		}
		head = ""; block = ""
	}
	/^==[0-9]+== *$/ { flush(); next }
	/^==[0-9]+== / {
		line = $0; sub(/^==[0-9]+== /, "", line)
		if (head == "" && line !~ /^ /) head = line
		block = block line "\n"
	}
	END {
		flush()
		n = 0
		for (k in total) { printf "all processes: %6d  %s\n", total[k], k; n += total[k] }
		if (n == 0) print "all processes: no error"
		m = 0
		for (k in mine) { printf "coldstart:     %6d  %s\n", mine[k], k; m += mine[k] }
		if (m == 0) print "coldstart:     no error"
	}' "$dir"/vg/*.log | sort >"$dir/summary.txt"

echo "valgrind: $(ls "$dir"/vg/*.log | wc -l) processes, pg_regress took ${elapsed}s"
grep -E '^test ' "$dir/regress.log"
[ $regress_rc -eq 0 ] || echo "pg_regress: some tests failed; diffs in $dir/regress/*/regression.diffs"
cat "$dir/summary.txt"
if grep -qE '^coldstart: +[0-9]+ +(Invalid (read|write|free)|Mismatched free)' "$dir/summary.txt"; then
	echo "invalid memory accesses in coldstart code: see $dir/coldstart-errors.txt"
	exit 1
fi
[ -s "$dir/coldstart-errors.txt" ] && echo "other reports in coldstart code: $dir/coldstart-errors.txt"
exit 0
