# SPDX-License-Identifier: MIT
# Plots of the end-to-end benchmark. Usage (run.sh does this):
#   gnuplot -e "datadir='DIR'; plotdir='DIR'" plots.gp
# Reads scale.tsv and churn.tsv written by e2e-bench.
set terminal pngcairo size 800,500 noenhanced font ",10"
set grid
set key top left

scale = datadir.'/scale.tsv'
churn = datadir.'/churn.tsv'

set output plotdir.'/e2e-throughput-vs-state.png'
set title 'presence-agg drain throughput against state size (enter-only loads)'
set xlabel 'members in the state at the end of the load'
set ylabel 'messages/s'
set yrange [0:*]
plot scale using 1:2 with linespoints lw 2 pt 7 title 'presence-agg run'

set output plotdir.'/e2e-memory-vs-members.png'
set title 'presence-agg peak RSS against members (consuming only, no publish round)'
set ylabel 'peak RSS (MB)'
set key bottom right
set yrange [0:160]
plot scale using 1:3 with linespoints lw 2 pt 7 title 'VmHWM of presence-agg run', \
     135 with lines dt 2 title 'Node.js original at 100,000 events (135 MB)'
set key top left
set yrange [*:*]

set output plotdir.'/e2e-tick-vs-changes.png'
set title 'publish tick duration against changes per interval (100,000 members, four views, HTTP included)'
set xlabel 'changes per 3 s interval'
set ylabel 'tick duration (ms, median)'
set logscale x
plot churn using 2:6 with linespoints lw 2 pt 7 title 'presenceagg_tick_duration_seconds'
unset logscale x

set output plotdir.'/e2e-bytes-vs-churn.png'
set title 'bytes published per 3 s interval against churn (by-channel view, 100,000 members)'
set xlabel 'members changing per interval (%)'
set ylabel 'bytes per interval'
set logscale xy
set yrange [*:*]
plot churn using 1:3 with linespoints lw 2 pt 7 title 'by-channel diff', \
     churn using 1:4 with linespoints lw 2 pt 5 dt 2 title 'changed-member JSON', \
     churn using 1:(2*$4) with lines dt 3 title '2x changed-member JSON (target bound)'
