#!/usr/bin/env bash
# Issue 20's GPU run in one command, from the repository root: bash benchmarks/gpu.sh
#
# Meant for one GPU with JAX and no TensorFlow, tfds or Keras (the device tool's H200), with
# two git-ignored folders carried: .whl/ (the keras, optree and namex wheels) and .gpu/
# (cifar10-jpeg.tar.gz, a copy of ../shared/data/cifar10-jpeg.tar.gz). In order:
#   1. install  the wheels into /tmp/site (the package runs from this checkout, not installed);
#   2. unpack   the CIFAR-10 JPEG copy into /tmp/cifar10-jpeg (tar: 4x faster than Python's);
#   3. cifar10_fast: python -m recipes train cifar10_fast --runs 5 on that copy;
#   4. the benchmark suite (python -m benchmarks) in mixed_bfloat16;
#   5. airbench94 itself (PyTorch) on the same GPU and copy, when .gpu/airbench_ref.py and
#      .gpu/airbench94.py are carried (not part of the repository: see that script);
#   6. the benchmark suite in float32, in the time left.
# Each step runs under `timeout` inside one overall budget, and a failed step does not stop
# the next. A benchmark process that dies or hangs (--row-timeout) on a row is started again
# on the rows after it. A summary ends the output. Files, at most 8, go to $OUT (default
# runs/gpu): summary.txt, cifar10_fast.txt, cifar10_fast-metrics.json,
# cifar10_fast-curves.csv, bench-<precision>.txt and bench-<precision>.csv.
#
# Settings (environment variables) and their defaults:
#   GPU_BUDGET_S=480        seconds for all the steps together (the issue's 8 minutes)
#   PYTHON=python3          the interpreter
#   GPU_WHEELS=.whl         folder of wheels to install ('' to install none)
#   GPU_SITE=/tmp/site      where they are installed (put first on PYTHONPATH)
#   GPU_ARCHIVE=.gpu/cifar10-jpeg.tar.gz, GPU_DATA=/tmp/cifar10-jpeg
#   CIFAR_RUNS=5, CIFAR_ARGS=''     more flags of `python -m recipes train`, e.g. --flip random
#   BENCH_PRECISIONS='mixed_bfloat16 float32'
#   BENCH_ARGS='--steps 16 --repeats 3 --min-window 0.5 --row-timeout 120'
#   BENCH_ROWS=the nine model rows, those never measured in bfloat16 on a GPU first
set -u

OUT=${OUT:-runs/gpu}
BUDGET_S=${GPU_BUDGET_S:-480}
PYTHON=${PYTHON:-python3}
WHEELS=${GPU_WHEELS-.whl}
SITE=${GPU_SITE:-/tmp/site}
ARCHIVE=${GPU_ARCHIVE:-.gpu/cifar10-jpeg.tar.gz}
DATA=${GPU_DATA:-/tmp/cifar10-jpeg}
CIFAR_RUNS=${CIFAR_RUNS:-5}
CIFAR_ARGS=${CIFAR_ARGS:-}
BENCH_PRECISIONS=${BENCH_PRECISIONS:-mixed_bfloat16 float32}
BENCH_ARGS=${BENCH_ARGS:---steps 16 --repeats 3 --min-window 0.5 --row-timeout 120}
BENCH_ROWS=${BENCH_ROWS:-reverse_seq2seq transformer_classifier mnist_vae moons_realnvp \
mnist_mlp cifar10_vgg cifar10_resnet20 cifar10_resnet9 shapes_unet}
MIN_STEP_S=20 # a step with less time left than this is skipped
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpu-run.XXXXXX")

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
mkdir -p "$OUT" || exit 1
export PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2 KERAS_BACKEND=${KERAS_BACKEND:-jax}
export PYTHONPATH="$SITE:$PWD${PYTHONPATH:+:$PYTHONPATH}"
START=$SECONDS
SUMMARY=()

# limit MAX_S: MAX_S, or the seconds left in the budget if fewer.
limit() {
    local left=$((BUDGET_S - (SECONDS - START)))
    echo $((left < $1 ? left : $1))
}

# record STEP STATE SECONDS: one line of the summary.
record() {
    SUMMARY+=("$(printf '%-28s %5s s  %s' "$1" "$3" "$2")")
}

# run_step STEP MAX_S LOG COMMAND...: COMMAND under `timeout` (MAX_S at most, never past
# the budget), its output shown and appended to LOG; records the outcome, returns its status.
run_step() {
    local step=$1 seconds begin=$SECONDS status state log=$3
    seconds=$(limit "$2")
    shift 3
    if ((seconds < MIN_STEP_S)); then
        record "$step" "SKIPPED: ${seconds} s left in the budget" 0
        return 125
    fi
    echo "=== $step (at most ${seconds} s): $*" | tee -a "$log"
    timeout -k 10 "$seconds" "$@" 2>&1 | tee -a "$log"
    status=${PIPESTATUS[0]}
    case $status in
        0) state=ok ;;
        124 | 137) state="TIMED OUT after ${seconds} s" ;;
        *) state="FAILED (exit $status)" ;;
    esac
    record "$step" "$state" $((SECONDS - begin))
    return "$status"
}

install_wheels() {
    local wheels=("$WHEELS"/*.whl)
    if [[ -z $WHEELS || ! -e ${wheels[0]} ]]; then
        record install "SKIPPED: no wheels in '$WHEELS' (the installed packages are used)" 0
        return
    fi
    run_step install 90 "$WORK/install.txt" "$PYTHON" -m pip install -q --no-index --no-deps \
        --no-compile --no-cache-dir --upgrade --target "$SITE" "${wheels[@]}"
}

# unpack: sets CIFAR_DIR to the unpacked tree (the archive itself when unpacking failed:
# recipes then unpacks it into ~/.cache/recipes).
unpack() {
    CIFAR_DIR=$ARCHIVE
    if [[ ! -f $ARCHIVE ]]; then
        record unpack "SKIPPED: no $ARCHIVE" 0
        return
    fi
    rm -rf "$DATA" && mkdir -p "$DATA" || return
    if run_step unpack 60 "$WORK/unpack.txt" tar -xzf "$ARCHIVE" -C "$DATA"; then
        local train
        train=$(find "$DATA" -maxdepth 2 -type d -name train | head -n 1)
        [[ -n $train ]] && CIFAR_DIR=$(dirname "$train")
    fi
}

cifar10_fast() {
    local log="$OUT/cifar10_fast.txt"
    if [[ ! -e $CIFAR_DIR ]]; then
        record cifar10_fast "SKIPPED: no CIFAR-10 copy" 0
        return
    fi
    # shellcheck disable=SC2086 # CIFAR_ARGS holds several flags
    run_step cifar10_fast 180 "$log" "$PYTHON" -m recipes train cifar10_fast \
        --data-dir "$CIFAR_DIR" --runs "$CIFAR_RUNS" --output "$WORK/cifar10_fast" $CIFAR_ARGS
    cp "$WORK/cifar10_fast/metrics.json" "$OUT/cifar10_fast-metrics.json" 2>/dev/null
    cp "$WORK/cifar10_fast/curves.csv" "$OUT/cifar10_fast-curves.csv" 2>/dev/null
}

# airbench_reference: airbench94 itself (PyTorch), on the same GPU and CIFAR-10 copy, when
# a git-ignored .gpu/airbench_ref.py (with .gpu/airbench94.py beside it) is carried; its
# result line goes to the summary. Its code never enters the package.
airbench_reference() {
    local script=$PWD/.gpu/airbench_ref.py
    if [[ ! -f $script || ${AIRBENCH_RUNS:-5} -lt 1 || ! -e $CIFAR_DIR ]]; then
        record airbench94 "SKIPPED: no .gpu/airbench_ref.py or no CIFAR-10 copy" 0
        return
    fi
    mkdir -p "$WORK/airbench" && pushd "$WORK/airbench" >/dev/null || return
    run_step airbench94 100 "$WORK/airbench.txt" "$PYTHON" "$script" "$CIFAR_DIR" \
        "${AIRBENCH_RUNS:-5}"
    popd >/dev/null || return
}

# rows_left TABLE: the rows of BENCH_ROWS that TABLE has no line for yet.
rows_left() {
    local row
    for row in $BENCH_ROWS; do
        grep -qE "^$row( |$)" "$1" || echo "$row"
    done
}

# bench PRECISION MAX_S: the suite in PRECISION. A process that ends on a row (a crash, or
# --row-timeout) is started again on the rows after it, unless it ended before its table.
bench() {
    local precision=$1 table="$OUT/bench-$1.txt" step="bench $1" left attempt=0 begin=$SECONDS
    local status=0 seconds tables=0 reason="" row
    : >"$table"
    while left=$(rows_left "$table") && [[ -n $left ]]; do
        if ((attempt)); then
            if (($(grep -c '^benchmark ' "$table") == tables)); then
                reason="the benchmark process ended before its table (exit $status)"
                break
            fi
            tables=$(grep -c '^benchmark ' "$table")
            printf '%-24s NOT MEASURED: the process ended on this row (exit %s: %s)\n' \
                "${left%%$'\n'*}" "$status" "--row-timeout or a crash" | tee -a "$table"
            left=$(rows_left "$table")
            [[ -n $left ]] || break
        fi
        attempt=$((attempt + 1))
        seconds=$(($2 - (SECONDS - begin)))
        # shellcheck disable=SC2086 # BENCH_ARGS holds several flags, left one name a line
        run_step "$step (try $attempt)" "$seconds" "$table" "$PYTHON" -m benchmarks \
            --precision "$precision" $BENCH_ARGS --csv "$WORK/bench-$precision-$attempt.csv" \
            --only $left
        status=$?
        if ((status == 124 || status == 137 || status == 125)); then
            reason="out of time"
            break
        fi
    done
    for row in $(rows_left "$table"); do
        printf '%-24s NOT MEASURED: %s\n' "$row" "$reason" | tee -a "$table"
    done
    "$PYTHON" - "$OUT/bench-$precision.csv" "$WORK"/bench-"$precision"-*.csv <<'EOF'
import csv, os, sys

paths = [path for path in sys.argv[2:] if os.path.exists(path)]
rows = [row for path in paths for row in csv.DictReader(open(path))]
if rows:
    with open(sys.argv[1], "w", newline="") as file:
        writer = csv.DictWriter(file, list(dict.fromkeys(k for row in rows for k in row)))
        writer.writeheader()
        writer.writerows(rows)
EOF
    local counts
    counts=$(awk -v rows="$BENCH_ROWS" 'BEGIN { n = split(rows, names, " ") }
        { for (i = 1; i <= n; i++) if ($1 == names[i]) {
            if ($2 == "FAILED:") failed++; else if ($2 == "NOT") lost++; else measured++ } }
        END { printf "%d measured, %d FAILED, %d not measured", measured, failed, lost }' \
        "$table")
    record "$step" "$counts of $(wc -w <<<"$BENCH_ROWS") rows" $((SECONDS - begin))
}

# header: the budget, the interpreter, the GPU and the versions the steps will import.
header() {
    echo "gpu.sh: budget ${BUDGET_S} s, OUT=$OUT, $("$PYTHON" --version 2>&1)"
    if command -v nvidia-smi >/dev/null; then
        nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
    fi
    "$PYTHON" - <<'EOF'
from importlib import metadata

found = []
for name in ("jax", "jaxlib", "keras", "numpy", "torch"):
    try:
        found.append(f"{name} {metadata.version(name)}")
    except metadata.PackageNotFoundError:
        found.append(f"{name} -")
print("versions:", ", ".join(found))
EOF
}

footer() {
    echo
    echo "=== summary ($((SECONDS - START)) s of ${BUDGET_S} s)"
    printf '%s\n' "${SUMMARY[@]}"
    if [[ -f $OUT/cifar10_fast.txt ]]; then
        sed -n '/^cifar10_fast: test/,$p' "$OUT/cifar10_fast.txt" | grep -v "$WORK"
    fi
    grep -h "^airbench94 " "$WORK/airbench.txt" 2>/dev/null
    echo "files: $(cd "$OUT" && ls | tr '\n' ' ')"
}

# main: the steps in order (a function, so that bash has read the whole script first).
main() {
    # The first precision's most seconds (its nine rows took about 320 s on an H200 on
    # 2026-12-04), then the rest of the budget; airbench94's reference runs between.
    local budgets=(330 1000) index=0 precision
    install_wheels
    header | tee "$OUT/summary.txt"
    unpack
    cifar10_fast
    for precision in $BENCH_PRECISIONS; do
        bench "$precision" "${budgets[index]:-1000}"
        ((index)) || airbench_reference
        index=$((index + 1))
    done
    footer | tee -a "$OUT/summary.txt"
    rm -rf "$WORK"
}

main
exit 0
