#!/usr/bin/env bash
# bench/fuzz/run.sh: fuzz the model decoder for N seconds (default 600).
#
# Builds build/fuzz_model (libFuzzer + AddressSanitizer + UBSan over
# src/model_format.c, see fuzz_model.c), checks that every seed in seeds/ is a
# valid model, then fuzzes from seeds/ plus the corpus it kept from earlier
# runs (build/corpus) on one core, and prints the executions, the corpus size
# and the findings.  Crashing inputs are written to build/findings/; replay one
# with build/fuzz_model FILE.  Not part of CI.
#
#   bash bench/fuzz/run.sh [SECONDS] [extra libFuzzer flags...]
#
# Needs clang with libFuzzer (Debian 12: apt-get install clang-14 libclang-rt-14-dev).
# New seeds: bash bench/fuzz/make_seeds.sh against a server with coldstart.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
seconds=${1:-600}
shift || true
cd "$here" || exit 1

make -s || exit 1
mkdir -p build/corpus build/findings

# The seeds must be valid models, or the fuzzer starts from nothing useful.
bad=$(CS_FUZZ_VERBOSE=1 ./build/fuzz_model seeds/*.bin 2>&1 | grep -E '^[0-9]+ bytes: ' | grep -vc ': valid$')
if [ "$bad" -ne 0 ]; then
	echo "run.sh: $bad seed(s) are not valid models; regenerate them with make_seeds.sh" >&2
	CS_FUZZ_VERBOSE=1 ./build/fuzz_model seeds/*.bin 2>&1 | grep -E '^[0-9]+ bytes: ' >&2
	exit 1
fi

log=build/fuzz-$(date +%Y%m%d-%H%M%S).log
echo "fuzzing src/model_format.c for $seconds s; log in bench/fuzz/$log"
./build/fuzz_model build/corpus seeds \
	-max_total_time="$seconds" -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
	-use_value_profile=1 -print_final_stats=1 \
	-artifact_prefix=build/findings/ "$@" >"$log" 2>&1
rc=$?

execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$')
speed=$(grep -Eo 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -Eo '[0-9]+$')
cov=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9a-zA-Z]+' | tail -1)
valid=$(grep -E '^cs_model_check: ' "$log" | tail -1)
echo "executions:   ${execs:-?} (${speed:-?}/s over $seconds s)"
echo "coverage:     ${cov:-?} (edges, features, corpus inputs/bytes)"
echo "decoder:      ${valid#cs_model_check: }"
echo "corpus:       $(ls build/corpus | wc -l) inputs in bench/fuzz/build/corpus"
echo "findings:     $(ls build/findings | wc -l) file(s) in bench/fuzz/build/findings"
if [ $rc -ne 0 ]; then
	echo "libFuzzer stopped with status $rc: a finding; see the end of bench/fuzz/$log"
	grep -E 'ERROR: |SUMMARY: |runtime error' "$log" | head -5
fi
exit $rc
