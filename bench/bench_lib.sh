# bench/bench_lib.sh: shared steps of bench/train and bench/serve.  Source it.
#
# BENCH_PG      folder of the private benchmark server (default bench/out/pg;
#               its data, 2-3 GB with every data set, stays out of git)
# BENCH_OUT     where figures and logs go (default bench/out)
# BENCH_NO_BUILD=1 skips building and installing the extension.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$BENCH_DIR/../scripts/lib.sh"
BENCH_OUT=${BENCH_OUT:-$BENCH_DIR/out}
BENCH_PG=${BENCH_PG:-$BENCH_OUT/pg}
mkdir -p "$BENCH_OUT"

# One BLAS thread, as a backend uses by default; the AVX-512 kernels when the
# CPU has them, as src/blas.c picks inside the backend (OpenBLAS 0.3.21 takes
# some recent Xeons for a Prescott and would make the floor unfairly slow).
export OPENBLAS_NUM_THREADS=1
if grep -qw avx512f /proc/cpuinfo; then
	export OPENBLAS_CORETYPE=SkylakeX
fi

bench_machine() {
	local model
	model=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)
	printf '%s, %s cores, %s GiB RAM, L3 %s; OpenBLAS %s, core %s\n' \
		"$model" "$(nproc)" \
		"$(awk '/MemTotal/ {printf "%.0f", $2 / 1048576}' /proc/meminfo)" \
		"$(lscpu | sed -n 's/^L3 cache:\s*//p')" \
		"$(dpkg-query -W -f='${Version}' libopenblas0-pthread 2>/dev/null || echo '?')" \
		"$("$BENCH_OUT/floor" core 2>/dev/null || echo '?')"
}

# The floor program (bench/floor.c), built into bench/out.
bench_build_floor() {
	if [ ! -x "$BENCH_OUT/floor" ] || [ "$BENCH_DIR/floor.c" -nt "$BENCH_OUT/floor" ]; then
		cs_say "building $BENCH_OUT/floor"
		gcc -O2 -Wall -o "$BENCH_OUT/floor" "$BENCH_DIR/floor.c" \
			$(pkg-config --cflags --libs openblas 2>/dev/null || echo -lopenblas) -lm
	fi
}

bench_setup() {
	if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
		cs_install_packages
		cs_build_install
	fi
	bench_build_floor
	cs_server_start "$BENCH_PG" "shared_buffers = 1GB" "max_connections = 20" \
		"max_parallel_workers_per_gather = 2" || exit 1
	# a server kept from an earlier run has the objects of the script it was
	# created with: recreate the extension when the installed script differs
	# (the bench data are not part of it and stay; models trained here go)
	local script sum
	script="$("$CS_PGBIN/pg_config" --sharedir)/extension/coldstart--1.0.sql"
	sum=$(md5sum "$script" | cut -d' ' -f1)
	if [ "$(cat "$BENCH_PG/extension.md5" 2>/dev/null)" != "$sum" ] &&
		[ "$(bench_q "SELECT count(*) FROM pg_extension WHERE extname = 'coldstart'")" = 1 ]; then
		cs_say "the installed coldstart--1.0.sql differs from the one this server's extension was made with: recreating the extension"
		psql -X -q -c "DROP EXTENSION coldstart CASCADE"
	fi
	psql -X -q -c "CREATE EXTENSION IF NOT EXISTS coldstart" 2>/dev/null &&
		printf '%s\n' "$sum" >"$BENCH_PG/extension.md5"
}

# bench_q SQL: one value
bench_q() { psql -X -qAt -v ON_ERROR_STOP=1 -c "$1"; }

# bench_demo SCHEMA USERS ITEMS BEHAVIOURS: generated data, made once and kept.
bench_demo() {
	local have
	have=0
	if [ "$(bench_q "SELECT to_regclass('$1.behaviours') IS NOT NULL")" = t ]; then
		have=$(bench_q "SELECT count(*) FROM $1.behaviours")
	fi
	if [ "$have" != "$4" ]; then
		cs_say "generating $1: $2 users, $3 items, $4 behaviours"
		psql -X -q -c "DROP SCHEMA IF EXISTS $1 CASCADE" 2>/dev/null
		bench_q "SELECT coldstart.create_demo('$1', $2, $3, $4, 1)" >/dev/null || exit 1
	fi
}

bench_movielens() {
	if [ "$(bench_q "SELECT to_regclass('movielens.behaviours') IS NOT NULL")" != t ]; then
		cs_say "loading MovieLens 100k"
		"$BENCH_DIR/load_movielens.sh" >&2 || exit 1
	fi
}

# bench_median: the median of the numbers on stdin, one per line.
bench_median() { sort -g | awk '{a[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

# bench_ratio A B [digits]: A / B
bench_ratio() { awk -v a="$1" -v b="$2" -v p="${3:-2}" 'BEGIN {if (b == 0 || a == "" || b == "") print "nan"; else printf "%.*f\n", p, a / b}'; }
