# bench/anatomy.awk: the "One partition, step by step" table of results.md, from anatomy.tsv (server,
# rows_per_day, partition, step, server_cpu_ms, wall_ms) and cpu.tsv (approach A's server CPU per partition).
# Each cell: server CPU ms (wall ms). *pgrewrite's work*: create + copy + index builds + vacuum + verify + the
# ANALYZE the server runs after the swap (15: every column; 18: the retyped column, the others restored).
FNR == 1 { file++; for (i = 1; i <= NF; i++) col[file, $i] = i; next }
file == 1 {
    key = $(col[1, "server"]) SUBSEP $(col[1, "rows_per_day"])
    if (!(key in part)) { order[++n] = key; part[key] = $(col[1, "partition"]) }
    cpu[key, $(col[1, "step"])] = $(col[1, "server_cpu_ms"]); wall[key, $(col[1, "step"])] = $(col[1, "wall_ms"])
    next
}
file == 2 && $(col[2, "id"]) == "A" {
    alter[$(col[2, "server"]) SUBSEP $(col[2, "rows_per_day"])] = $(col[2, "server_cpu_per_partition_ms"])
}
END {
    split("create|copy|index builds|vacuum|verify|analyze (every column)|analyze (the retyped column)", steps, "|")
    printf "| server | rows | partition |"
    for (i = 1; i <= 7; i++) printf " %s |", steps[i]
    print " pgrewrite's work | blocking ALTER, a partition | pgrewrite's work / ALTER's |"
    printf "|---|---|---|"; for (i = 1; i <= 10; i++) printf "---|"; print ""
    for (k = 1; k <= n; k++) {
        key = order[k]; split(key, f, SUBSEP)
        printf "| %s | %s | %s |", f[1], f[2], part[key]
        sum = 0; sumw = 0
        for (i = 1; i <= 7; i++) {
            s = steps[i]
            printf " %s (%s) |", ((key, s) in cpu) ? cpu[key, s] : "-", ((key, s) in wall) ? wall[key, s] : "-"
            run = (i <= 5) || (i == 6 && f[1] < 18) || (i == 7 && f[1] >= 18)
            if (run) { sum += cpu[key, s]; sumw += wall[key, s] }
        }
        a = (key in alter) ? alter[key] : "-"
        printf " %d (%d) | %s | %s |\n", sum, sumw, a, (a != "-" && a > 0) ? sprintf("%.2f", sum / a) : "-"
    }
}
