# test/lib.sh: a small TAP-like harness for coldstart's integration tests.
#
# An integration test is a bash script test/t/NNN_name.sh.  scripts/test.sh runs
# them in name order against the suite's private server, with PGHOST, PGPORT,
# PGUSER and PGDATABASE (= coldstart) set.  A test looks like this:
#
#   #!/usr/bin/env bash
#   # 010_foo: what this test proves, in a line or two.
#   source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
#
#   fresh_db t010_foo                 # a database of its own; PGDATABASE points at it
#   psql_ok "CREATE EXTENSION coldstart"
#   is "$(q "SELECT 1 + 1")" 2 "addition"
#   like "$(q "SELECT version()")" '^PostgreSQL 15' "the server is 15"
#   psql_fails_with "SELECT 1/0" "division by zero"
#   is "$(sqlstate_of "SELECT 1/0")" 22012 "errcode of a division by zero"
#   ok "a cron job ran" wait_until 60 q_true "SELECT count(*) > 0 FROM cron.job_run_details"
#
#   done_testing
#
# Every assertion prints "ok N - name" or "not ok N - name" followed by "# "
# diagnostics, and is recorded for the runner, which counts each one.  A test
# that ends without reaching done_testing (an error, exit, timeout) counts one
# more failure.  Do not use `set -e`: a failed assertion returns 1 and the
# test goes on.  `set -u` is on.
#
# Assertions
#   pass NAME / fail NAME [DIAG...]   record a result directly
#   ok NAME CMD [ARGS...]             passes if CMD succeeds; shows its output if not
#   is GOT EXPECTED NAME              string equality
#   isnt GOT UNEXPECTED NAME
#   like GOT REGEX NAME               bash extended regex against the whole string
#   unlike GOT REGEX NAME
#   psql_ok SQL [NAME]                the SQL runs without error
#   psql_fails_with SQL TEXT [NAME]   the SQL fails and its error output contains TEXT
#   skip REASON                       a test not run (neither passed nor failed)
#   bail_out REASON                   stop this test file now (one failure)
# Helpers
#   q SQL [PSQL ARGS...]              run SQL (several statements allowed, stopping at
#                                     the first error), print unaligned tuples-only
#                                     output ("|" between columns); status 3 on error
#   q_true SQL                        succeeds if SQL returns exactly "t"
#   sqlstate_of SQL                   print the SQLSTATE of the error SQL raises
#   wait_until SECONDS CMD [ARGS...]  poll CMD every 0.2 s until it succeeds; 1 on timeout
#   fresh_db NAME                     drop and create database NAME, export PGDATABASE=NAME
#   diag TEXT...                      "# " lines in the output
#   $T_TMP                            a scratch folder of this test (kept after a suite run)
# Extra servers (all stopped when the test ends)
#   start_server NAME [CONF LINES...] a private server in $T_TMP/NAME on a free port
#   start_standby NAME PRIMARY [CONF LINES...]
#                                     a streaming standby of server PRIMARY (a NAME
#                                     from start_server, or "main" for the suite's own)
#   on NAME CMD [ARGS...]             run CMD with PGHOST/PGPORT of server NAME
#                                     ("main" is the suite's own), e.g. on standby q "SELECT 1"
#   server_dir NAME, stop_server NAME
#
# Run one test:   bash scripts/test.sh --only t/010_foo.sh    (build, fresh server)
# or against a server you already have:
#                 source /work/dev-pg/env && bash test/t/010_foo.sh

if [ -n "${_CS_TAP_LOADED:-}" ]; then return 0; fi
_CS_TAP_LOADED=1
set -u

source "$(cd "$(dirname "${BASH_SOURCE[0]}")/../scripts" && pwd)/lib.sh"

T_NAME=$(basename "$0" .sh)
PSQL="$CS_PGBIN/psql"
umask 022

# Scratch folder: under the suite's folder when run by scripts/test.sh (kept for
# a look after a failure), else a temporary one removed at the end.
if [ -n "${CS_TEST_SCRATCH:-}" ]; then
	T_TMP="$CS_TEST_SCRATCH/$T_NAME"
	rm -rf "$T_TMP"
	mkdir -p "$T_TMP"
	_T_OWN_TMP=""
else
	T_TMP=$(mktemp -d /tmp/cs-test.XXXXXX)
	_T_OWN_TMP=$T_TMP
fi
chmod 755 "$T_TMP"			# servers run as postgres and must get in

# Results go to a state file, one line per assertion ("pass|fail|skip<TAB>name"),
# so that assertions made in subshells count too.
_T_STATE=${CS_TAP_STATE:-$T_TMP/tap.state}
: >"$_T_STATE"
_T_DONE=""

# Remember the suite's own server, for `on main` and `start_standby NAME main`.
_T_MAIN_HOST=${PGHOST:-}
_T_MAIN_PORT=${PGPORT:-}

diag() {
	local line
	for line in "$@"; do
		printf '%s\n' "$line" | sed 's/^/# /'
	done
}

_t_record() {
	local result=$1 name=$2 n
	name=${name//$'\n'/ }
	printf '%s\t%s\n' "$result" "$name" >>"$_T_STATE"
	n=$(wc -l <"$_T_STATE")
	case $result in
	pass) printf 'ok %d - %s\n' "$n" "$name" ;;
	fail) printf 'not ok %d - %s\n' "$n" "$name" ;;
	skip) printf 'ok %d # skip %s\n' "$n" "$name" ;;
	esac
}

pass() { _t_record pass "$1"; return 0; }

fail() {
	_t_record fail "$1"
	shift
	[ $# -eq 0 ] || diag "$@"
	return 1
}

skip() { _t_record skip "$1"; return 0; }

# A short name for an assertion about a statement: its first line, cut at 70 characters.
_t_sql_name() {
	local s=${1%%$'\n'*}
	[ ${#s} -le 70 ] || s="${s:0:67}..."
	printf '%s' "$s"
}

ok() {
	local name=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then
		pass "$name"
	else
		fail "$name" "command failed with status $rc: $*" ${out:+"$out"}
	fi
}

is() {
	if [ "$1" == "$2" ]; then
		pass "$3"
	else
		fail "$3" "     got: '$1'" "expected: '$2'"
	fi
}

isnt() {
	if [ "$1" != "$2" ]; then
		pass "$3"
	else
		fail "$3" "     got: '$1'" "expected anything else"
	fi
}

like() {
	if [[ $1 =~ $2 ]]; then
		pass "$3"
	else
		fail "$3" "     got: '$1'" "expected to match: $2"
	fi
}

unlike() {
	if [[ $1 =~ $2 ]]; then
		fail "$3" "     got: '$1'" "expected not to match: $2"
	else
		pass "$3"
	fi
}

q() {
	local sql=$1
	shift
	"$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 "$@" <<<"$sql"
}

q_true() { [ "$(q "$1" 2>/dev/null)" = t ]; }

sqlstate_of() {
	local out
	out=$(q "\\set VERBOSITY sqlstate
$1" 2>&1 >/dev/null)
	out=$(grep -Eo '(ERROR|FATAL|PANIC): +[0-9A-Z]{5}' <<<"$out" | head -1)
	printf '%s' "${out##* }"
}

psql_ok() {
	local sql=$1 name=${2:-$(_t_sql_name "$1")} out
	if out=$(q "$sql" 2>&1); then
		pass "$name"
	else
		fail "$name" "$out"
	fi
}

psql_fails_with() {
	local sql=$1 expected=$2 name=${3:-"fails: $(_t_sql_name "$1")"} out
	if out=$(q "$sql" 2>&1); then
		fail "$name" "the statement succeeded; expected an error containing: $expected" \
			${out:+"output: $out"}
	elif grep -qF -- "$expected" <<<"$out"; then
		pass "$name"
	else
		fail "$name" "expected an error containing: $expected" "got: $out"
	fi
}

wait_until() {
	local deadline=$((SECONDS + $1))
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

fresh_db() {
	q 'SET client_min_messages = warning;
DROP DATABASE IF EXISTS :"db" WITH (FORCE)' -d postgres -v db="$1" &&
		q 'CREATE DATABASE :"db"' -d postgres -v db="$1" ||
		bail_out "cannot create database $1"
	export PGDATABASE=$1
}

bail_out() {
	_t_record fail "bail out: $1"
	_T_DONE=bailed
	exit 1
}

done_testing() {
	_T_DONE=done
	exit 0
}

# ---------------------------------------------------------------------
# Extra servers
# ---------------------------------------------------------------------

server_dir() { printf '%s/%s' "$T_TMP" "$1"; }

start_server() {
	local name=$1
	shift
	(cs_server_start "$(server_dir "$name")" "$@") || bail_out "cannot start server $name"
}

start_standby() {
	local name=$1 primary=$2 dir
	shift 2
	dir=$(server_dir "$name")
	mkdir -p "$dir"
	chown postgres: "$dir" 2>/dev/null || true
	on "$primary" cs_as_server "$CS_PGBIN/pg_basebackup" -D "$dir/data" -X stream \
		-U postgres -c fast >"$dir/basebackup.log" 2>&1 ||
		{ cat "$dir/basebackup.log"; bail_out "cannot back up $primary for standby $name"; }
	cs_as_server touch "$dir/data/standby.signal"
	# cs_server_start rewrites postgresql.auto.conf, so the connection goes in here.
	start_server "$name" \
		"primary_conninfo = 'host=$(on "$primary" printenv PGHOST) port=$(on "$primary" printenv PGPORT) user=postgres application_name=$name'" \
		"$@"
}

on() {
	local name=$1
	shift
	if [ "$name" = main ]; then
		(export PGHOST=$_T_MAIN_HOST PGPORT=$_T_MAIN_PORT; "$@")
	else
		[ -f "$(server_dir "$name")/env" ] || { echo "no server named $name" >&2; return 2; }
		(source "$(server_dir "$name")/env"; "$@")
	fi
}

stop_server() { cs_server_stop "$(server_dir "$1")" 2>/dev/null; }

_t_exit() {
	local rc=$? pid
	trap - TERM INT HUP
	for pid in "$T_TMP"/*/data/postmaster.pid; do
		[ -f "$pid" ] && cs_server_stop "${pid%/data/postmaster.pid}" 2>/dev/null
	done
	if [ -z "$_T_DONE" ]; then
		_t_record fail "$T_NAME ended before done_testing (${_T_SIGNAL:-exit status $rc})"
	fi
	local total failed
	total=$(grep -c . "$_T_STATE")
	failed=$(grep -c '^fail' "$_T_STATE")
	printf '1..%d\n' "$total"
	[ "$failed" -eq 0 ] || printf '# %d of %d failed\n' "$failed" "$total"
	[ -z "$_T_OWN_TMP" ] || rm -rf "$_T_OWN_TMP"
	[ "$failed" -eq 0 ] && exit 0 || exit 1
}
_T_SIGNAL=""
trap _t_exit EXIT
trap '_T_SIGNAL="killed by SIGTERM, a timeout?"; exit 143' TERM
trap '_T_SIGNAL="interrupted"; exit 130' INT HUP
