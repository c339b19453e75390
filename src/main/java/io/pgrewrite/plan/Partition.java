package io.pgrewrite.plan;

import java.time.LocalDate;
import java.util.List;

import io.pgrewrite.pg.Identifiers;

/**
 * One partition of the parent, with its bound and sizes.
 *
 * @param bound      {@code FOR VALUES FROM (...) TO (...)}, as pg_get_expr prints it: reused verbatim by ATTACH
 * @param lowerBound the first literal of the bound, unquoted ({@code 2024-03-12 00:00:00}); null for MINVALUE
 * @param rowsEstimate reltuples; -1 when the partition was never analyzed
 */
public record Partition(long oid, String schema, String name, String bound, String lowerBound, long rowsEstimate,
        long heapBytes, long indexBytes, long totalBytes, List<String> reloptions) {

    public String qualified() {
        return Identifiers.qualified(schema, name);
    }

    /** The day the partition starts, when its key is a date or timestamp; null otherwise. */
    public LocalDate startDay() {
        if (lowerBound == null || lowerBound.length() < 10) {
            return null;
        }
        try {
            return LocalDate.parse(lowerBound.substring(0, 10));
        } catch (java.time.format.DateTimeParseException e) {
            return null;
        }
    }
}
