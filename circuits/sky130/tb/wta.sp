* Testbench: current-mode WTA comparator (tests/spice.rs, wta_switching). Threshold I_THPOT = 62 pA (pFET source
* from its bias generator), WTA bias 1 nA; DC sweep of the input current 20-120 pA. i(v.xc.vsa) / i(v.xc.vsb)
* are the output currents of the input cell and of the threshold cell, v(out) the restored logic output.
.param MC_MM_SWITCH=0 MC_PR_SWITCH=0 corner_factor=1 process_mc_factor=1 mismatch_factor=1
.include "{{MODELS}}"
.include "{{BLOCKS}}"
.option abstol=1e-16 gmin=1e-16 reltol=1e-4 method=gear
Vdd vdd 0 1.8
Xbt vth vdd pbias i=62p
Xbw vwta vdd nbias i=1n
Xbh vwtah vdd nbias i=0.5n
Iin vdd iin 20p
Xc iin vth vwta vwtah out vdd wta
.control
set wr_singlescale
set wr_vecnames
dc Iin 20p 120p 1p
wrdata wta.txt i(v.xc.vsa) i(v.xc.vsb) v(out)
quit
.endc
.end
