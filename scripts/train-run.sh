# Sourced by scripts/network-tables, scripts/mismatch-tables, scripts/network-sweep, scripts/preset-grid,
# scripts/gain-target-splits and scripts/sky130-mismatch-breakdown (not run
# on its own): the zeros/ones arguments (the thesis CSVs, 170 training rows, the zeros/ones network's I_bg:
# `network::net::ZEROS_ONES_I_BG_A`) and `run NAME ARGS...`, which runs `$STC train ARGS... --out $OUT/NAME --force` (log in $OUT/NAME.log, shown on failure)
# and prints one line "NAME: early / late % (spike share early / late, z share early / late, gain max early / late)".
# The caller sets STC and OUT and has cd'ed to the repository root. Also `acc FILE`: "early late" accuracy in per
# cent (one decimal) from a summary.yaml (scripts/network-sweep, scripts/preset-grid). And `with_tau_z`, below.
Z01=(--train-csv data/thesis-mnist-0-1/mnist_train_0_1_16th.csv --test-csv data/thesis-mnist-0-1/mnist_test_0_1_100_rows.csv --n-train 170 --i-bg 0.155e-9)
run() {
    local name="$1"; shift
    $STC train "$@" --out "$OUT/$name" --force >"$OUT/$name.log" 2>&1 || { cat "$OUT/$name.log" >&2; exit 1; }
    python3 - "$OUT/$name/summary.yaml" "$name" <<'PY'
import sys, re
s = open(sys.argv[1]).read()
def top(k):
    m = re.search(r"^%s: (\S+)" % k, s, re.M)
    return float(m.group(1))
def mem(which, k):
    block = s.split("memory_%s:" % which, 1)[1]
    return float(re.search(r"^  %s: (\S+)" % k, block, re.M).group(1))
print("%-34s %5.1f / %5.1f %%  spikes %5.1f / %5.1f %%  z share %5.1f / %5.1f %%  gain max %6.2f / %6.2f" % (
    sys.argv[2], 100 * top("accuracy_early"), 100 * top("accuracy_late"),
    100 * top("output_spike_share_early"), 100 * top("output_spike_share_late"),
    100 * mem("early", "share_z"), 100 * mem("late", "share_z"),
    mem("early", "gain_max"), mem("late", "gain_max")))
PY
}
acc() {
    python3 - "$1" <<'PY'
import sys, re
s = open(sys.argv[1]).read()
g = lambda k: 100 * float(re.search(r"^%s: (\S+)" % k, s, re.M).group(1))
print("%.1f %.1f" % (g("accuracy_early"), g("accuracy_late")))
PY
}
# `with_tau_z PRESET VALUE FILE`: presets/PRESET.yaml with its late phase's tau_z_s set to VALUE (seconds), written
# to FILE; stops the script if the line was not found. `mnist-robust`'s numbers measured before session 22 need
# tau_z 360 s (scripts/mismatch-tables, robust-breakdown, sky130-mismatch-breakdown); scripts/robust-tau-z compares
# values.
with_tau_z() {
    sed "s/^  tau_z_s: [0-9.]* /  tau_z_s: $2 /" "presets/$1.yaml" >"$3"
    grep -q "^  tau_z_s: $2 " "$3" || { echo "sed did not set tau_z_s $2 in presets/$1.yaml" >&2; exit 1; }
}
