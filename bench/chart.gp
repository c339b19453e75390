# Time and peak extra disk per approach, one bar per table size. Called by run.sh with
#   datafile (two blocks: wall seconds, then peak extra MB), outfile, cols, subtitle.
set terminal pngcairo size 1400,900 font "sans,10"
set output outfile
set datafile separator "\t"
set datafile missing "-"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key outside right top
set termoption noenhanced
set yrange [0:*]
set offsets 0, 0, graph 0.08, 0
set grid ytics
set xtics rotate by -30 left
set multiplot layout 2,1 title "pgrewrite benchmark: type change (A–D) and compact, ".subtitle
set title "Wall time"
set ylabel "seconds"
plot for [i=2:cols] datafile index 0 using i:xtic(1) title columnheader(i)
set title "Peak extra disk (pg_database_size + pg_wal above the start)"
set ylabel "MB"
plot for [i=2:cols] datafile index 1 using i:xtic(1) title columnheader(i)
unset multiplot
