# Markdown tables from bench/results/results.tsv (awk -F'\t'): one section per table size (days and
# rows a day: the two shapes, e.g. 30 x 100 000 and 365 x 1 000, are two sizes), a table
# per operation, then time and peak disk against table size when more than one size ran.
# Fields: 1 days, 2 rows_per_day, 3 table_mb, 4 operation, 5 id, 6 approach, 7 chart_name, 8 wall_s,
# 9 peak_extra_mb, 10 peak_db_mb, 11 peak_wal_mb, 12 wal_mb, 13 final_mb, 14 app_errors, 15 write_gap_ms,
# 16-18 insert p50/p99/max, 19-20 day read p99/max, 21 count(*) max, 22-23 lock hold max/p99, 24 samples, 25 check.
NR == 1 { next }
{
    n++
    for (i = 1; i <= NF; i++) f[n, i] = $i
    size = $1 " x " $2
    if (!(size in seenDays)) { seenDays[size] = 1; days[++nd] = size }
    if (!($5 in seenId)) { seenId[$5] = 1; ids[++ni] = $5; name[$5] = $6; op[$5] = $4 }
    row[size, $5] = n
    if ($5 == "A") wallA[size] = $8
    if ($5 == "RP") wallRP[size] = $8
}
function ratio(x, base) { return (base > 0 && x != "") ? sprintf("%.2f", x / base) : "-" }
function s(ms) { return (ms == "-" || ms == "" || ms < 0) ? "-" : sprintf("%.2f", ms / 1000) }
function ms(x) { return (x == "-" || x == "") ? "-" : sprintf("%.0f", x) }
function table(d, operation,    j, r, hdr) {
    hdr = "| approach | wall s | × A |" (operation == "compact" ? " × pg_repack |" : "") \
          " peak extra MB (db / pg_wal) | peak % of table | WAL MB | final MB | app errors | longest write gap s | insert p50 / p99 / max ms | day read p99 / max ms | count(*) max s | swap lock hold max / p99 ms | check |"
    print hdr
    gsub(/[^|]+/, "---", hdr); print hdr
    for (j = 1; j <= ni; j++) {
        if (op[ids[j]] != operation || !((d, ids[j]) in row)) continue
        r = row[d, ids[j]]
        printf "| %s | %.1f | %s |", f[r, 6], f[r, 8], ratio(f[r, 8], wallA[d])
        if (operation == "compact") printf " %s |", ratio(f[r, 8], wallRP[d])
        printf " %s (%s / %s) | %.0f %% | %s | %s | %s | %s | %s / %s / %s | %s / %s | %s | %s / %s | %s |\n",
            f[r, 9], f[r, 10], f[r, 11], 100 * f[r, 9] / f[r, 3], f[r, 12], f[r, 13], f[r, 14], s(f[r, 15]),
            ms(f[r, 16]), ms(f[r, 17]), ms(f[r, 18]), ms(f[r, 19]), ms(f[r, 20]), s(f[r, 21]),
            f[r, 22], f[r, 23], f[r, 25]
    }
}
END {
    for (k = 1; k <= nd; k++) {
        d = days[k]
        for (j = 1; j <= ni; j++) if ((d, ids[j]) in row) { r = row[d, ids[j]]; break }
        printf "\n## %s days × %s rows a day (table with indexes: %s MB)\n\n", f[r, 1], f[r, 2], f[r, 3]
        print "### Type change: `massa_ledig_voertuig` smallint → integer\n"
        table(d, "type")
        print "\n### Compact: rewrite every partition as it is\n"
        table(d, "compact")
    }
    if (nd < 2) exit
    print "\n## Scale: wall s / peak extra disk % of the table, by table size\n"
    printf "| approach |"; for (k = 1; k <= nd; k++) printf " %s days × rows |", days[k]; print ""
    printf "|---|"; for (k = 1; k <= nd; k++) printf "---|"; print ""
    for (j = 1; j <= ni; j++) {
        printf "| %s%s |", (op[ids[j]] == "compact" ? "compact: " : ""), name[ids[j]]
        for (k = 1; k <= nd; k++) {
            if ((days[k], ids[j]) in row) { r = row[days[k], ids[j]]; printf " %.1f s / %.0f %% |", f[r, 8], 100 * f[r, 9] / f[r, 3] }
            else printf " - |"
        }
        print ""
    }
}
