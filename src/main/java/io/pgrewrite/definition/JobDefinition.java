package io.pgrewrite.definition;

import io.pgrewrite.pg.Identifiers;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One job definition (a YAML file in {@code jobs/}): which table to rewrite, how, and within which
 * limits. Read and checked by {@link JobDefinitions}; see {@code jobs/README.md} for every key.
 *
 * <p>Immutable. The canonical constructor fills in the defaults for {@code null} arguments
 * ({@code schema}, {@code set}, {@code storage}, {@code copy}, {@code swap}, {@code disk},
 * {@code retire}, and {@code using} of {@code alter-column-type}) so that definitions built in
 * code look like loaded ones; it does not repeat the loader's checks.
 *
 * @param file where it was read from; {@code null} when built in code or parsed from text
 * @param name the job's name, {@code [A-Za-z0-9_.-]{1,80}}
 * @param schema the table's schema, {@code public} by default
 * @param table the partitioned table, unquoted (any characters)
 * @param operation what to do to every partition
 * @param column the column added, altered or dropped; {@code null} for compact and backfill
 * @param type the SQL type of an added or altered column; {@code null} otherwise
 * @param using the SQL expression computing an added or altered column; {@code null} otherwise
 * @param set backfill only: column to SQL expression, in the file's order; empty otherwise
 * @param storage storage parameters for the rewritten partitions, e.g. {@code fillfactor=90}
 * @param partitionsFrom first partition (inclusive) by lower bound date, {@code null} for no limit
 * @param partitionsTo end (exclusive) by lower bound date, {@code null} for no limit
 * @param workers partitions rewritten at the same time
 * @param copy chunking of the copy step
 * @param swap lock timeout and retries of the swap step
 * @param disk the disk budget
 * @param retire what happens to the old partitions
 * @param schedule when the job may run; {@code null} when it runs on demand only
 * @param throttle the database's health signals that hold the job back; {@link Throttle#NONE} by default
 * @param statistics when a rewritten partition's statistics are sampled; {@link Statistics#AFTER_SWAP} by default
 */
public record JobDefinition(
        Path file,
        String name,
        String schema,
        String table,
        Operation operation,
        String column,
        String type,
        String using,
        Map<String, String> set,
        Map<String, String> storage,
        LocalDate partitionsFrom,
        LocalDate partitionsTo,
        int workers,
        Copy copy,
        Swap swap,
        Disk disk,
        Retire retire,
        Schedule schedule,
        Throttle throttle,
        Statistics statistics) {

    public static final String DEFAULT_SCHEMA = "public";

    public JobDefinition {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(table, "table");
        Objects.requireNonNull(operation, "operation");
        schema = schema == null ? DEFAULT_SCHEMA : schema;
        set = frozen(set);
        storage = frozen(storage);
        copy = copy == null ? Copy.DEFAULT : copy;
        swap = swap == null ? Swap.DEFAULT : swap;
        disk = disk == null ? Disk.UNLIMITED : disk;
        retire = retire == null ? Retire.DROP : retire;
        throttle = throttle == null ? Throttle.NONE : throttle;
        statistics = statistics == null ? Statistics.AFTER_SWAP : statistics;
        if (using == null && operation == Operation.ALTER_COLUMN_TYPE && column != null && type != null) {
            using = Identifiers.quote(column) + "::" + type;
        }
    }

    /** With the default statistics choice, as built in code before it existed. */
    public JobDefinition(Path file, String name, String schema, String table, Operation operation, String column,
            String type, String using, Map<String, String> set, Map<String, String> storage, LocalDate partitionsFrom,
            LocalDate partitionsTo, int workers, Copy copy, Swap swap, Disk disk, Retire retire, Schedule schedule,
            Throttle throttle) {
        this(file, name, schema, table, operation, column, type, using, set, storage, partitionsFrom, partitionsTo,
                workers, copy, swap, disk, retire, schedule, throttle, null);
    }

    /** Without throttle signals, as built in code before they existed. */
    public JobDefinition(Path file, String name, String schema, String table, Operation operation, String column,
            String type, String using, Map<String, String> set, Map<String, String> storage, LocalDate partitionsFrom,
            LocalDate partitionsTo, int workers, Copy copy, Swap swap, Disk disk, Retire retire, Schedule schedule) {
        this(file, name, schema, table, operation, column, type, using, set, storage, partitionsFrom, partitionsTo,
                workers, copy, swap, disk, retire, schedule, null, null);
    }

    /** The same definition with other values for the keys that can change while it runs ({@link RuntimeSettings}). */
    JobDefinition with(int workers, Copy copy, Swap swap, Throttle throttle) {
        return new JobDefinition(file, name, schema, table, operation, column, type, using, set, storage, partitionsFrom,
                partitionsTo, workers, copy, swap, disk, retire, schedule, throttle, statistics);
    }

    /** The zone of clock times in the definition ({@code swap.window}): {@code schedule.zone}, else UTC. */
    public ZoneId zone() {
        return schedule == null ? Schedule.DEFAULT_ZONE : schedule.zone();
    }

    /** The identifying key of this job: {@code name@schema.table}. */
    public String jobKey() {
        return name + "@" + schema + "." + table;
    }

    private static Map<String, String> frozen(Map<String, String> map) {
        return map == null || map.isEmpty() ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(map));
    }

    /**
     * The copy step's chunking.
     *
     * @param chunkRows rows per chunk, one transaction each ({@code copy.chunk-rows})
     * @param pause sleep between chunks, to leave I/O to the application ({@code copy.pause})
     */
    public record Copy(int chunkRows, Duration pause) {

        public static final Copy DEFAULT = new Copy(20_000, Duration.ZERO);

        public Copy {
            Objects.requireNonNull(pause, "pause");
        }
    }

    /**
     * The swap step's patience.
     *
     * @param lockTimeout longest wait for a lock in one attempt ({@code swap.lock-timeout})
     * @param maxAttempts attempts before the partition fails ({@code swap.max-attempts})
     * @param window the clock times in which a swap may start ({@code swap.window}); {@code null}: any time
     */
    public record Swap(Duration lockTimeout, int maxAttempts, TimeWindow window) {

        public static final Swap DEFAULT = new Swap(Duration.ofMillis(200), 20);

        public Swap {
            Objects.requireNonNull(lockTimeout, "lockTimeout");
        }

        public Swap(Duration lockTimeout, int maxAttempts) {
            this(lockTimeout, maxAttempts, null);
        }
    }

    /**
     * Health signals of the database; while any is over its maximum, copies pause at their next chunk
     * boundary and no swap starts, until all are below {@code resumeBelowPercent} of their maximum.
     * A {@code null} maximum is a signal not watched.
     *
     * @param replicationLag longest replay lag of any standby ({@code throttle.replication-lag})
     * @param replicationLagBytes most WAL bytes any standby has yet to replay ({@code throttle.replication-lag-bytes})
     * @param walPerMinute most WAL bytes written per minute, by anyone ({@code throttle.wal-per-minute})
     * @param lockWaiters most sessions waiting for a lock a pgrewrite session holds ({@code throttle.lock-waiters})
     * @param oldestTransaction longest a transaction of anyone else may have been running ({@code throttle.oldest-transaction})
     * @param antiWraparound hold back while an anti-wraparound autovacuum works on the table ({@code throttle.anti-wraparound})
     * @param query an SQL query returning one number ({@code throttle.query}); {@code null}: none
     * @param queryMax the query's maximum ({@code throttle.query-max}); given exactly when {@code query} is
     * @param resumeBelowPercent hysteresis: go on when every signal is below this share of its maximum ({@code throttle.resume-below})
     * @param checkEvery how often the signals are sampled ({@code throttle.check-every})
     */
    public record Throttle(Duration replicationLag, Long replicationLagBytes, Long walPerMinute, Integer lockWaiters,
            Duration oldestTransaction, boolean antiWraparound, String query, Double queryMax, int resumeBelowPercent,
            Duration checkEvery) {

        public static final Throttle NONE = new Throttle(null, null, null, null, null, false, null, null, 80,
                Duration.ofSeconds(5));

        public Throttle {
            Objects.requireNonNull(checkEvery, "checkEvery");
        }

        /** Whether any signal is watched. */
        public boolean any() {
            return replicationLag != null || replicationLagBytes != null || walPerMinute != null || lockWaiters != null
                    || oldestTransaction != null || antiWraparound || query != null;
        }
    }

    /**
     * The disk budget.
     *
     * @param maxExtraBytes most bytes the job may hold beyond the table's own size at any moment
     *     ({@code disk.max-extra}); {@code null} for no limit
     * @param maxWait longest a partition waits for room under {@code max-extra} before it fails ({@code disk.wait})
     */
    public record Disk(Long maxExtraBytes, Duration maxWait) {

        public static final Duration DEFAULT_WAIT = Duration.ofMinutes(30);
        public static final Disk UNLIMITED = new Disk(null, DEFAULT_WAIT);

        public Disk {
            maxWait = maxWait == null ? DEFAULT_WAIT : maxWait;
        }

        public Disk(Long maxExtraBytes) {
            this(maxExtraBytes, DEFAULT_WAIT);
        }
    }

    /**
     * When a job may run.
     *
     * @param cron Quartz cron expression (6 or 7 fields) that starts or resumes the job
     * @param window length of the maintenance window that opens at each {@code cron} time; {@code null}
     *     for no limit
     * @param zone the time zone of {@code cron}, UTC by default
     * @param maxRelaunches how often a failed run is relaunched before it is left for an operator
     */
    public record Schedule(String cron, Duration window, ZoneId zone, int maxRelaunches) {

        public static final ZoneId DEFAULT_ZONE = ZoneId.of("UTC");

        public Schedule {
            Objects.requireNonNull(cron, "cron");
            zone = zone == null ? DEFAULT_ZONE : zone;
        }
    }
}
