# freenos-mm benchmark, part 4: bar chart of e2e.tsv (written by e2e.sh).
#
#   gnuplot -e "datafile='results/e2e.tsv'; outfile='results/e2e.png'" \
#	tools/bench/plot-e2e.gp
#
# Median ns per cycle for each buffer size: fnmm (ReserveMem + mmap),
# anonymous mmap (MAP_POPULATE) and hugetlb, on a log y axis.  Columns of
# e2e.tsv: 1 size, 2 bytes, 3 rounds, 4 fnmm_ns, 5 fnmm_map_ns, 6 anon_ns,
# 7 hugetlb_ns, 8.. ratios; "NA" where a method did not run.  ymin (the
# smallest median plotted; e2e.sh passes it) sets the bottom of the axis,
# else the anon column's smallest median does; vm names the machine in
# the title.

if (!exists("datafile")) datafile = "results/e2e.tsv"
if (!exists("outfile")) outfile = "results/e2e.png"
if (!exists("vm")) vm = "test VM"

if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
	set terminal pngcairo size 900,560 font ",11"
} else {
	set terminal png size 900,560
}
set output outfile

set datafile separator "\t"
set datafile missing "NA"
set datafile columnheaders
if (!exists("ymin")) {
	stats datafile using 6 nooutput
	ymin = STATS_min
	nrows = STATS_records
} else {
	stats datafile using 2 nooutput
	nrows = STATS_records
}
set title "get + touch + give back a buffer (".vm.", median of rounds)"
set xlabel "buffer size"
set ylabel "median ns per cycle (log scale)"
set logscale y
set yrange [10 ** floor(log10(ymin) - 0.3) : *]
set xrange [-0.6 : nrows - 0.4]
set format y "10^{%L}"
set grid ytics
set key top left
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9

plot datafile using 4:xtic(1) title "freenos-mm (ReserveMem + mmap)" \
		lc rgb "#1f77b4", \
	'' using 6 title "anonymous mmap (MAP\\_POPULATE)" lc rgb "#ff7f0e", \
	'' using 7 title "hugetlb (MAP\\_HUGETLB)" lc rgb "#2ca02c"
