# bench/plot.gp: run by bench/run.sh inside the results directory.
# Left: provisioning median (bars: p99) against existing devices. Middle:
# distribution of provisioning latency with no background devices. Right:
# the data path in Gbit/s, guest -> host (gbit.dat from report.sh). A panel
# whose data this run did not make (BENCH_PARTS) says so instead.
set terminal pngcairo size 2100,600 font "DejaVu Sans,10"
set output "plot.png"
set termoption noenhanced
have(f) = system("test -s " . f . " && echo 1 || echo 0") eq "1"
set multiplot layout 1,3 title "tapgate vs peers: provisioning latency and data path (make bench)"

if (have("cdf-tg-routed.dat")) {
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
} else {
set title "provisioning: not in this run (BENCH_PARTS without prov)"
unset border; unset xtics; unset ytics
plot [0:1][0:1] NaN notitle
set title "provisioning: not in this run (BENCH_PARTS without prov)"
plot [0:1][0:1] NaN notitle
set border; set xtics; set ytics
}

reset
set termoption noenhanced
if (have("gbit.dat")) {
set title "data path, guest -> host: Gbit/s the host received (median)"
set ylabel "Gbit/s (log)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set logscale y
set yrange [0.01:*]
set xtics rotate by -30 left
set key top right
set grid ytics
plot "gbit.dat" using 3:xtic(2) title "plain", \
     "" using 4 title "tapgate run --sandbox", \
     "" using ($1 - 1 - 0.17):3:(sprintf("%.2f", $3)) with labels offset 0,0.7 font ",8" notitle, \
     "" using ($1 - 1 + 0.17):4:(sprintf("%.2f", $4)) with labels offset 0,0.7 font ",8" notitle
} else {
set title "data path: not in this run (BENCH_PARTS without dp and qemu)"
unset border; unset xtics; unset ytics
plot [0:1][0:1] NaN notitle
}
unset multiplot
