#!/usr/bin/env bash
# scripts/test.sh: the whole test suite, as CI runs it.
#
# Installs the Debian packages it needs, builds and installs coldstart, starts a
# fresh private server in .pg/test, runs the pg_regress tests (sql/*.sql against
# expected/*.out) and then the integration tests (test/t/*.sh, in name order),
# stops the server and prints a last line "N passed, N failed".  Each pg_regress
# test counts as one; each assertion of an integration test counts as one, plus
# one failure for a test file that dies, times out or makes no assertion, and one
# if a server log shows a crashed backend.  Exit status: 0 only if nothing failed.
#
#   bash scripts/test.sh                        everything
#   bash scripts/test.sh --only t/010_foo.sh    one integration test (repeatable)
#   bash scripts/test.sh --only sql/NAME.sql    one pg_regress test (or --only NAME)
#   bash scripts/test.sh --regress-only         only the pg_regress tests
#   bash scripts/test.sh --integration-only     only the integration tests
#   bash scripts/test.sh --no-build             skip packages, build and install
#   bash scripts/test.sh --keep                 leave the server running at the end
#
# Each pg_regress test runs alone in a new database, coldstart_regression.
# Output: pg_regress results in .pg/test/regress/NAME/, all diffs together in
# .pg/test/regress/regression.diffs (printed when a test fails), one log
# per integration test in .pg/test/log/, scratch folders in .pg/test/scratch/,
# the server's log in .pg/test/server.log.  Settings (environment):
#   CS_TEST_DIR       the suite's folder (.pg/test, or a folder in /tmp when the
#                     postgres account cannot read this tree); it is deleted first
#   CS_TEST_TIMEOUT   seconds one integration test file may take (1200)
#   CS_REGRESS_TIMEOUT seconds all pg_regress tests may take (1800)
#   CS_SUITE_BUDGET   seconds the whole run may take; tests not started by then fail (4800)
set -uo pipefail

source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
cd "$CS_ROOT" || exit 1
umask 022

# Only the suite's own server may be reached: drop PG* settings inherited from
# the caller's shell (a sourced dev-server env, PGOPTIONS, PGSERVICE...).
while read -r v; do unset "$v"; done < <(compgen -e | grep -E '^PG[A-Z]+$')

TEST_TIMEOUT=${CS_TEST_TIMEOUT:-1200}
REGRESS_TIMEOUT=${CS_REGRESS_TIMEOUT:-1800}
SUITE_BUDGET=${CS_SUITE_BUDGET:-4800}

usage() { sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

# ---------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------
do_regress=1 do_integration=1 do_build=1 keep=0
only_regress=() only_integration=() only_given=0

# Resolve a test name given to --only: t/010_foo.sh, test/t/010_foo.sh, 010_foo,
# sql/model_type.sql, model_type.
select_test() {
	local arg=$1 base
	base=$(basename "$arg")
	if [ -f "test/t/${base%.sh}.sh" ] && [[ $arg != sql/* ]]; then
		only_integration+=("test/t/${base%.sh}.sh")
	elif [ -f "sql/${base%.sql}.sql" ]; then
		only_regress+=("${base%.sql}")
	else
		base=${base%.sh}
		base=${base%.sql}
		echo "test.sh: no test named $arg (looked for test/t/$base.sh and sql/$base.sql)" >&2
		exit 2
	fi
	only_given=1
}

while [ $# -gt 0 ]; do
	case $1 in
	--only) [ $# -ge 2 ] || { usage >&2; exit 2; }; select_test "$2"; shift ;;
	--only=*) select_test "${1#--only=}" ;;
	--regress-only) do_integration=0 ;;
	--integration-only) do_regress=0 ;;
	--no-build) do_build=0 ;;
	--keep) keep=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "test.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done

if [ "$only_given" -eq 1 ]; then
	regress_tests=("${only_regress[@]}")
	integration_tests=("${only_integration[@]}")
else
	regress_tests=()
	integration_tests=()
	for f in sql/*.sql; do [ -f "$f" ] && regress_tests+=("$(basename "$f" .sql)"); done
	for f in test/t/*.sh; do [ -f "$f" ] && integration_tests+=("$f"); done
fi
[ "$do_regress" -eq 1 ] || regress_tests=()
[ "$do_integration" -eq 1 ] || integration_tests=()

# ---------------------------------------------------------------------
# Counting and reporting
# ---------------------------------------------------------------------
passed=0 failed=0 skipped=0
summary=()			# one line per test, printed at the end

result() {			# result passed failed "line for the summary"
	passed=$((passed + $1))
	failed=$((failed + $2))
	summary+=("$3")
}

final_line() {
	echo
	echo "==> summary ($(( SECONDS / 60 )) min $(( SECONDS % 60 )) s)"
	local line
	for line in ${summary[@]+"${summary[@]}"}; do echo "  $line"; done
	[ "$skipped" -eq 0 ] || echo "  ($skipped skipped, counted neither way)"
	echo "$passed passed, $failed failed"
}

# A setup step failed: nothing can be tested.
setup_failed() {
	cs_say "$1"
	result 0 1 "setup: $1"
	stop_servers
	final_line
	exit 1
}

# ---------------------------------------------------------------------
# Servers, cleanup, signals
# ---------------------------------------------------------------------
child=""			# the running test's process (a process-group leader)

# Stop every server under the suite's folder: the suite's own and any a test
# left behind (a test killed by its timeout may not have stopped its own).
stop_servers() {
	local pid
	if [ "$keep" -eq 1 ] || [ -z "$TEST_DIR" ]; then return 0; fi
	for pid in "$TEST_DIR"/data/postmaster.pid "$TEST_DIR"/scratch/*/*/data/postmaster.pid; do
		[ -f "$pid" ] && cs_server_stop "${pid%/data/postmaster.pid}"
	done
	return 0
}

on_exit() {
	local rc=$?
	[ -z "$child" ] || kill -TERM "$child" 2>/dev/null
	stop_servers 2>/dev/null
	exit "$rc"
}
on_signal() {
	echo >&2
	cs_say "interrupted"
	[ -z "$child" ] || kill -TERM "$child" 2>/dev/null
	exit 130
}
trap on_exit EXIT
trap on_signal INT TERM HUP

# run_logged LOG SECONDS CMD [ARGS...]: run CMD under a timeout, output to LOG and
# (unless QUIET is set) to the terminal; returns CMD's status (124 on timeout).
# CMD runs in the background so that Ctrl-C reaches on_signal at once.
run_logged() {
	local log=$1 secs=$2 rc
	shift 2
	: >"$log"
	timeout -k 15 "$secs" "$@" >"$log" 2>&1 </dev/null 8>&- &
	child=$!
	[ -n "${QUIET:-}" ] || tail -n +1 -f --pid="$child" "$log"
	wait "$child"
	rc=$?
	child=""
	return $rc
}

# Seconds left of the suite's budget, at most $1.
time_left() {
	local left=$((SUITE_BUDGET - SECONDS))
	[ "$left" -lt "$1" ] && echo "$left" || echo "$1"
}

# ---------------------------------------------------------------------
# Setup
# ---------------------------------------------------------------------
TEST_DIR=""
if [ "$do_build" -eq 1 ]; then
	cs_install_packages || setup_failed "installing Debian packages failed"
	cs_build_install || setup_failed "build or install failed"
fi

# .pg/test, or a folder in /tmp if the postgres account cannot reach this tree.
TEST_DIR=$(realpath -m "${CS_TEST_DIR:-$(cs_pg_dir test)}")
# One suite at a time per folder: a second run in the same working tree waits.
mkdir -p "$(dirname "$TEST_DIR")"
exec 8>"$TEST_DIR.lock"
if ! flock -n 8; then
	cs_say "another test run is using $TEST_DIR; waiting for it"
	flock 8
fi

stop_servers
rm -rf "$TEST_DIR"
mkdir -p "$TEST_DIR/regress" "$TEST_DIR/log" "$TEST_DIR/scratch"
# (8>&-: the server must not inherit, and so hold, the suite's lock)
cs_server_start "$TEST_DIR" 8>&- || setup_failed "the test server did not start (see $TEST_DIR/server.log)"
export CS_TEST_DIR="$TEST_DIR" CS_SERVER_LOG="$TEST_DIR/server.log"
export CS_TEST_SCRATCH="$TEST_DIR/scratch"

# ---------------------------------------------------------------------
# pg_regress: sql/ and expected/
# ---------------------------------------------------------------------
regress_passed() {		# regress_passed NAME LOG: did pg_regress report NAME as ok?
	# PostgreSQL 15: "test NAME ... ok  12 ms"; 16 and later: "ok 1 - NAME  12 ms"
	grep -Eq "^(test +| +)$1 +\.\.\. ok( |$)|^ok [0-9]+ +[-+] +$1( |$)" "$2"
}

# Each test runs alone, in a new database coldstart_regression: the tests are
# self-contained (Makefile), so none can depend on, or break, another, and
# --only runs a test exactly as the whole suite does.
if [ ${#regress_tests[@]} -gt 0 ]; then
	cs_say "pg_regress: ${#regress_tests[@]} test(s), each in a new database coldstart_regression; output in $TEST_DIR/regress"
	diffs="$TEST_DIR/regress/regression.diffs"
	: >"$diffs"
	regress_deadline=$((SECONDS + REGRESS_TIMEOUT))
	for t in "${regress_tests[@]}"; do
		out="$TEST_DIR/regress/$t"
		mkdir -p "$out"
		secs=$(time_left $((regress_deadline - SECONDS)))
		if [ "$secs" -le 0 ]; then
			result 0 1 "FAILED  sql/$t.sql: not run, out of time"
			continue
		fi
		QUIET=1 run_logged "$out/make.log" "$secs" \
			make -C "$CS_ROOT" -s installcheck PG_CONFIG="$CS_PGBIN/pg_config" \
			REGRESS="$t" CONTRIB_TESTDB=coldstart_regression \
			EXTRA_REGRESS_OPTS="--outputdir=$out"
		rc=$?
		if regress_passed "$t" "$out/make.log"; then
			result 1 0 "ok      sql/$t.sql"
			echo "ok      sql/$t.sql"
		else
			why=""
			[ $rc -ne 124 ] || why=" (timed out)"
			result 0 1 "FAILED  sql/$t.sql$why"
			echo "FAILED  sql/$t.sql$why: see $out/"
			# No diffs means pg_regress did not get as far as comparing: show why.
			if [ -s "$out/regression.diffs" ]; then
				cat "$out/regression.diffs" >>"$diffs"
			else
				tail -20 "$out/make.log"
			fi
		fi
	done
	if [ -s "$diffs" ]; then
		cs_say "regression.diffs ($diffs):"
		cat "$diffs"
	fi
elif [ "$do_regress" -eq 1 ] && [ "$only_given" -eq 0 ]; then
	cs_say "pg_regress: no tests in sql/"
	summary+=("(no pg_regress tests in sql/)")
fi

# ---------------------------------------------------------------------
# Integration tests: test/t/*.sh
# ---------------------------------------------------------------------
for t in ${integration_tests[@]+"${integration_tests[@]}"}; do
	name=$(basename "$t" .sh)
	rel=${t#test/}
	secs=$(time_left "$TEST_TIMEOUT")
	if [ "$secs" -le 0 ]; then
		result 0 1 "FAILED  $rel: not run, the suite's time budget (${SUITE_BUDGET} s) is spent"
		continue
	fi
	cs_say "$rel"
	state="$TEST_DIR/log/$name.state"
	: >"$state"
	start=$SECONDS
	CS_TAP_STATE="$state" run_logged "$TEST_DIR/log/$name.log" "$secs" bash "$CS_ROOT/$t"
	rc=$?
	p=$(grep -c '^pass' "$state")
	f=$(grep -c '^fail' "$state")
	s=$(grep -c '^skip' "$state")
	skipped=$((skipped + s))
	why=""
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		why=" (timed out after $secs s)"
	elif [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
		why=" (exit status $rc)"
	elif [ $((p + f + s)) -eq 0 ]; then
		why=" (no assertions)"
		f=1
	fi
	# A test that died without recording why (before sourcing test/lib.sh, or
	# killed) still counts one failure.
	if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	if [ "$f" -eq 0 ]; then
		result "$p" 0 "ok      $rel: $p passed ($((SECONDS - start)) s)"
	else
		result "$p" "$f" "FAILED  $rel: $p passed, $f failed$why ($((SECONDS - start)) s)"
		while IFS=$'\t' read -r r n; do
			[ "$r" = fail ] && summary+=("          not ok: $n")
		done <"$state"
	fi
done

# ---------------------------------------------------------------------
# Crashes: a backend that died of a signal other than a test's own kill -9
# ---------------------------------------------------------------------
crashes=$(grep -HE 'terminated by signal (4|6|7|8|11)|^TRAP:|PANIC:' \
	"$TEST_DIR"/server.log "$TEST_DIR"/scratch/*/*/server.log 2>/dev/null)
if [ -n "$crashes" ]; then
	cs_say "crashes in the server logs:"
	echo "$crashes" | head -20
	result 0 1 "FAILED  a server log shows a crash (see above)"
fi

if [ "$keep" -eq 1 ]; then
	cs_say "server left running: source $TEST_DIR/env && psql"
else
	stop_servers
fi
final_line
[ "$failed" -eq 0 ]
