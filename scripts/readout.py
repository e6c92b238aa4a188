#!/usr/bin/env python3
"""Accuracy of two spiking read-outs from the per-sample spike tables `stc train` writes (test_spikes_*.csv).

- neuron: the class of the output neuron with the most spikes; ties: the earliest first spike, then the lower
  neuron index (the network's own read-out; this script checks that it reproduces `predicted`).
- class-sum: the class whose neurons together fired the most spikes; ties: the earliest first spike among each
  class's neurons, then the lower class. Every class has the same number of neurons (`--per-class`), so the sum
  ranks as the mean would (Diehl & Cook 2015 read their classes by the mean response of each class's neurons).

A sample without any output spike is wrong under both. Usage: readout.py PER_CLASS CLASS,CLASS,... FILE...
prints `FILE neuron_% class_sum_% tied_% most` per file, most the most spikes any neuron fired on a sample, tied_% the share of samples whose most spikes were fired by
neurons of more than one class (the network's read-out then decides by the first spike). Standard library only.
"""
import csv
import math
import sys


def read(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    n_out = sum(1 for k in rows[0] if k.startswith("count_"))
    out = []
    for r in rows:
        counts = [int(r[f"count_{i}"]) for i in range(n_out)]
        firsts = [float(r[f"first_spike_{i}_s"]) for i in range(n_out)]
        out.append((int(r["label"]), int(r["predicted"]), counts, firsts))
    return out


def neuron(counts, firsts, classes, per_class):
    fired = [i for i in range(len(counts)) if counts[i] > 0]
    if not fired:
        return -1
    best = min(fired, key=lambda i: (-counts[i], firsts[i], i))
    return classes[best // per_class]


def class_sum(counts, firsts, classes, per_class):
    if not any(counts):
        return -1
    scores = []
    for c in range(len(classes)):
        ids = range(c * per_class, (c + 1) * per_class)
        total = sum(counts[i] for i in ids)
        first = min((firsts[i] for i in ids), default=math.inf)
        scores.append((-total, first, c))
    return classes[min(scores)[2]]


def main():
    per_class = int(sys.argv[1])
    classes = [int(c) for c in sys.argv[2].split(",")]
    for path in sys.argv[3:]:
        rows = read(path)
        n = len(rows)
        hits_n = hits_s = tied = most = 0
        for label, predicted, counts, firsts in rows:
            top = max(counts)
            most = max(most, top)
            tied += top > 0 and len({i // per_class for i in range(len(counts)) if counts[i] == top}) > 1
            p = neuron(counts, firsts, classes, per_class)
            if p != predicted:
                sys.exit(f"{path}: the network's read-out predicted {predicted}, this script {p}")
            hits_n += p == label
            hits_s += class_sum(counts, firsts, classes, per_class) == label
        print(f"{path} {100 * hits_n / n:.1f} {100 * hits_s / n:.1f} {100 * tied / n:.1f} {most}")


if __name__ == "__main__":
    main()
