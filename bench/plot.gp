# bench/plot.gp: run by bench/run.sh inside the results directory.
# Left: provisioning median (bars: p99) against existing devices. Right:
# distribution of provisioning latency with no background devices.
set terminal pngcairo size 1400,560 font "DejaVu Sans,10"
set output "plot.png"
set termoption noenhanced
set multiplot layout 1,2 title "tapgate vs peers: provisioning latency (make bench)"

set title "setup median (error bar up to p99) vs existing devices"
set xlabel "background devices (taps with address + host route) in the namespace"
set ylabel "ms (log)"
set logscale y
set xrange [-300:4300]
set xtics (0, 1000, 4000)
set key top left
set grid ytics
plot "scaling.dat" using 1:2:2:3 with yerrorlines lw 2 title "tapgate routed", \
     "" using 1:4:4:5 with yerrorlines lw 2 title "tapgate bridged", \
     "" using 1:6:6:7 with yerrorlines lw 2 title "tapgate uml_net front end (up+add)", \
     "" using 1:8:8:9 with yerrorlines lw 2 title "Debian uml_net (up+add)", \
     "" using 1:10:10:11 with yerrorlines lw 2 title "Debian qemu-bridge-helper", \
     "" using 1:12 with linespoints lw 2 dt 2 title "floor: setuid exec + in-process routed config"

set title "setup latency distribution, 0 background devices"
set xlabel "ms (log)"
set ylabel "fraction of runs"
set logscale x
unset logscale y
set xrange [*:*]
set xtics auto
set yrange [0:1]
set key bottom right
plot "cdf-tg-routed.dat" using 1:2 with lines lw 2 title "tapgate routed", \
     "cdf-tg-bridged.dat" using 1:2 with lines lw 2 title "tapgate bridged", \
     "cdf-tg-uml.dat" using 1:2 with lines lw 2 title "tapgate uml_net front end", \
     "cdf-umlnet.dat" using 1:2 with lines lw 2 title "Debian uml_net", \
     "cdf-qbh.dat" using 1:2 with lines lw 2 title "Debian qemu-bridge-helper"
unset multiplot
