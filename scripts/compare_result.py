"""The result of an `stc compare` run, for the scripts that tabulate it (scripts/fit-sky130,
scripts/sky130-sensitivity, scripts/temperature-sky130): read from its DIR/compare.yaml, the machine-readable twin
of DIR/compare.md, so that no script parses the Markdown table. Standard library + PyYAML.
"""
import os

import yaml


def signals(folder):
    """{protocol: {signal: {"nrmse", "r2", "last_data", "last_model"}}} of FOLDER/compare.yaml, in file order."""
    return yaml.safe_load(open(os.path.join(folder, "compare.yaml")))["sets"]


def final_v_h(folder):
    """{protocol: (circuit's final v_h, model's final v_h)} [mV]."""
    return {p: (1e3 * s["v_h"]["last_data"], 1e3 * s["v_h"]["last_model"]) for p, s in signals(folder).items()}
