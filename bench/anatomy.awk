# bench/anatomy.awk: the "One partition, step by step" table of results.md, from anatomy.tsv (server,
# rows_per_day, partition, step, server_cpu_ms, wall_ms) and cpu.tsv (approach A's server CPU per partition).
# Each cell: server CPU ms (wall ms). *pgrewrite's work*: create + copy + index builds + vacuum + verify + the
# ANALYZE of the retyped column: what the benchmark's owner, the server's superuser, pays on every server (the other
# columns' statistics are restored on 18 for any owner and copied on 14-17 for a superuser). *As a non-superuser owner
# on 14-17*: the same with the ANALYZE of every column instead, what such an owner pays there.
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
    print " pgrewrite's work | blocking ALTER, a partition | pgrewrite's work / ALTER's | as a non-superuser owner on 14-17 |"
    printf "|---|---|---|"; for (i = 1; i <= 11; i++) printf "---|"; print ""
    for (k = 1; k <= n; k++) {
        key = order[k]; split(key, f, SUBSEP)
        printf "| %s | %s | %s |", f[1], f[2], part[key]
        sum = 0; sumw = 0
        for (i = 1; i <= 7; i++) {
            s = steps[i]
            printf " %s (%s) |", ((key, s) in cpu) ? cpu[key, s] : "-", ((key, s) in wall) ? wall[key, s] : "-"
            if (i <= 5 || i == 7) { sum += cpu[key, s]; sumw += wall[key, s] }
        }
        a = (key in alter) ? alter[key] : "-"
        nonsuper = "-"
        if (f[1] < 18 && (key, steps[6]) in cpu) {
            n6 = sum - cpu[key, steps[7]] + cpu[key, steps[6]]
            nonsuper = sprintf("%d (%d)%s", n6, sumw - wall[key, steps[7]] + wall[key, steps[6]],
                               (a != "-" && a > 0) ? sprintf(", %.2f x the ALTER's", n6 / a) : "")
        }
        printf " %d (%d) | %s | %s | %s |\n", sum, sumw, a, (a != "-" && a > 0) ? sprintf("%.2f", sum / a) : "-", nonsuper
    }
}
