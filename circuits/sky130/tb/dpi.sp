* Testbench: DPI calcium integrator (tests/spice.rs, dpi_decay_time_constant).
* 10 pre spikes (10 us, 500 Hz) from rest, then free decay; no resting input (vrest at 0) and a small I_g (10 pA),
* so that the decay between 90 and 30 pA is the near-pure exponential of the DPI, tau = C U_T / (kappa I_tau).
* Second analysis: DC sweep of the output device alone (pfet w=1 l=2, V_SD = 1.8 V) for kappa / U_T.
.param MC_MM_SWITCH=0 MC_PR_SWITCH=0 corner_factor=1 process_mc_factor=1 mismatch_factor=1
.include "{{MODELS}}"
.include "{{BLOCKS}}"
.option abstol=1e-16 gmin=1e-16 reltol=1e-4 method=gear
Vdd vdd 0 1.8
Xbt vtau vdd pbias i=7p
Xbg vthr vdd pbias i=10p
Xbw1 vwpre vdd nbias i=16n
Vw2 vwpost 0 0
Vr vrest 0 0
Vpre pre 0 PULSE(0 1.8 2m 0.1u 0.1u 10u 2m 10)
Vpost post 0 0
Xd pre post vthr vtau vwpre vwpost vrest ica opot odep vdd dpi c=1p
Vica ica 0 0
Vp opot 0 0
Vq odep 0 0
* the device sweep
Vgp gp 0 1.3
Vdp dp 0 0
Xsw dp gp vdd vdd pm w=1 l=2
.tran 10u 60m 0 0.1m
.control
set wr_singlescale
set wr_vecnames
run
wrdata dpi.txt i(Vica)
dc Vgp 1.45 1.05 -0.005
wrdata dpi-sweep.txt i(Vdp)
quit
.endc
.end
