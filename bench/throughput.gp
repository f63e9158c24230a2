# throughput.gp: throughput vs client count from report.py's throughput.dat.
#   gnuplot -e "dir='bench/results'" bench/throughput.gp
# Left: the three ways to shorten (and the locked pair); right: resolving.

if (!exists("dir")) dir = "bench/results"
data = dir . "/throughput.dat"

set terminal pngcairo size 1200,500 font "sans,10" noenhanced
set output dir . "/throughput.png"
set multiplot layout 1,2 title "url_shortener throughput (median tps of paired rounds; 2 CPUs, server and pgbench share them)"

set logscale x 2
set xtics ("1" 1, "8" 8, "32" 32)
set xrange [0.8:40]
set xlabel "clients"
set ylabel "transactions per second"
set yrange [0:*]
set grid ytics
set key bottom left box opaque
set style data linespoints

set title "shorten"
plot data using 1:2 title "shorten_url" lw 2 pt 7, \
     data using 1:3 title "raw INSERT (limit)" lw 2 pt 5 dt 2, \
     data using 1:4 title "PL/pgSQL peer" lw 2 pt 9, \
     data using 1:5 title "shorten_url_locked" lw 2 pt 7, \
     data using 1:6 title "PL/pgSQL locked twin" lw 2 pt 9

set title "resolve (100,000 random codes)"
plot data using 1:7 title "resolve_url" lw 2 pt 7, \
     data using 1:8 title "raw UPDATE (limit)" lw 2 pt 5 dt 2

unset multiplot
