* Testbench: bump circuit (tests/spice.rs, bump_width_at_half_height). DC sweep of v1 around v2 = 0.9 V with
* I_BUMP = 1 nA; the bump current is the series-pair current (node bout into a 0 V source). Second analysis: DC
* sweep of the pair device alone (nfet w=1 l=2, source at the pair's common node level 0.45 V, V_DS = 0.9 V)
* for kappa / U_T.
.param MC_MM_SWITCH=0 MC_PR_SWITCH=0 corner_factor=1 process_mc_factor=1 mismatch_factor=1
.include "{{MODELS}}"
.include "{{BLOCKS}}"
.option abstol=1e-16 gmin=1e-16 reltol=1e-4 method=gear
Vdd vdd 0 1.8
V1 v1 0 0.9
V2 v2 0 0.9
Xbb vb vdd nbias i=1n
Xb v1 v2 vb vref tag bout vdd bump
Vref vref 0 0
Vbo bout 0 0
Vgn gn 0 0.8
Vsn sn 0 0.45
Vdn dn 0 1.35
Xsw dn gn sn 0 nm w=1 l=2
.control
set wr_singlescale
set wr_vecnames
dc V1 0.6 1.2 0.002
wrdata bump.txt i(Vbo)
dc Vgn 0.6 0.85 0.005
wrdata bump-sweep.txt i(Vdn)
quit
.endc
.end
