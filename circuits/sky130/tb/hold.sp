* Testbench: hold droop (tests/spice.rs, ull_switch_holds_better_than_a_plain_switch). Two 4 pF hold capacitors
* start at 0.9 V with their depression switch off (dn = 0) and I_TAILD = 5 pA biased: h1 behind the ultra-low-leakage
* T-switch (guard follower on h1), h2 behind a single nFET of the same size. 2 s of hold.
.param MC_MM_SWITCH=0 MC_PR_SWITCH=0 corner_factor=1 process_mc_factor=1 mismatch_factor=1
.include "{{MODELS}}"
.include "{{BLOCKS}}"
.option abstol=1e-16 gmin=1e-16 reltol=1e-4 method=gear
Vdd vdd 0 1.8
Vdn dn 0 0
Vdnb dnb 0 1.8
Xbd vtd vdd nbias i=5p
Xbf vfb vdd nbias i=1n
Xg h1 g vfb vdd follower
Xu dn dnb vtd g h1 vdd ulln
C1 h1 0 4p
Xp dn dnb vtd h2 vdd plainn
C2 h2 0 4p
.ic v(h1)=0.9 v(h2)=0.9
.tran 1m 2 0 10m
.control
set wr_singlescale
set wr_vecnames
run
wrdata hold.txt v(h1) v(h2)
quit
.endc
.end
