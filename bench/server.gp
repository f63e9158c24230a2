# server.gp: url-shortener-server's redirects against pgbench's resolve_url,
# from bench/server's server.dat (connections, server rps, pgbench tps,
# server p50, server p99, pgbench p50, pgbench p99, rps of the server with
# --redirect-batch 1).
#   gnuplot -e "dir='DIR'; out='bench/server.png'" bench/server.gp

if (!exists("dir")) dir = "."
if (!exists("out")) out = "bench/server.png"
data = dir . "/server.dat"

set terminal pngcairo size 1000,420 font "sans,10" noenhanced
set output out
set multiplot layout 1,2 title "GET /{code} through url-shortener-server vs resolve_url from pgbench (medians; 2 CPUs shared by all)"

set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set grid ytics
set yrange [0:*]
set key below
set xlabel "connections"

set title "throughput"
set ylabel "requests per second"
plot data using 2:xtic(1) title "server (wrk)", '' using 8 title "server, --redirect-batch 1", \
     '' using 3 title "pgbench, one call per transaction"

set title "latency"
set ylabel "ms"
plot data using 4:xtic(1) title "server p50", '' using 5 title "server p99", \
     '' using 6 title "pgbench p50", '' using 7 title "pgbench p99"
unset multiplot
