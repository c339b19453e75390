# Wall time and peak extra disk per approach, one bar per table size (and server, when two ran). Called by run.sh with
#   datafile: one block per server and table size, rows "x  wall_s  peak_extra_mb  peak_db_mb";
#   sizes: the table sizes in days, in block order; servers: the PostgreSQL major version of each block,
#   or empty when all ran on one server; outfile; subtitle; and the xtics set.
set terminal pngcairo size 1400,950 font "sans,10"
set output outfile
set termoption noenhanced
set datafile separator "\t"
m = words(sizes)
if (!exists("servers")) servers = ""
block(j) = sprintf("%s days", word(sizes, j)) . (strlen(servers) > 0 ? ", PostgreSQL " . word(servers, j) : "")
w = 0.8 / m
x(i, j) = i - 0.4 + w * (j + 0.5)
set boxwidth w * 0.9
set xrange [0.4:*]
set yrange [0:*]
set offsets 0, 0.6, graph 0.08, 0
set grid ytics
set key top right
set xtics rotate by -25 left nomirror
set multiplot layout 2,1 title "pgrewrite benchmark: type change (A–D) and compact, ".subtitle
set title "Wall time"
set ylabel "seconds"
plot for [j=0:m-1] datafile index j using (x($1, j)):2 with boxes fill solid 0.85 border -1 lc j+1 \
     title block(j+1)
set title "Peak extra disk above the start: database files (dark) + pg_wal (light)"
set ylabel "MB"
plot for [j=0:m-1] datafile index j using (x($1, j)):3 with boxes fill solid 0.3 border -1 lc j+1 notitle, \
     for [j=0:m-1] datafile index j using (x($1, j)):4 with boxes fill solid 0.9 border -1 lc j+1 \
     title block(j+1)
unset multiplot
