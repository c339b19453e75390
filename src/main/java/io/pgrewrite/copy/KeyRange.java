package io.pgrewrite.copy;

import io.pgrewrite.plan.Keys;

import java.util.List;

/**
 * One chunk of the copy: the rows whose key is greater than {@code after} (no lower limit when null)
 * and at most {@code upTo} (no upper limit when null, for the last range).
 */
public record KeyRange(List<String> after, List<String> upTo) {

    /** WHERE clause over a table whose key columns are unqualified; parameters from {@link #params()}. */
    String where(Keys keys) {
        String w = "true";
        if (after != null) {
            w = keys.tuple(null) + " > " + keys.params();
        }
        if (upTo != null) {
            w += " AND " + keys.tuple(null) + " <= " + keys.params();
        }
        return w;
    }

    Object[] params() {
        java.util.ArrayList<Object> p = new java.util.ArrayList<>();
        if (after != null) {
            p.addAll(after);
        }
        if (upTo != null) {
            p.addAll(upTo);
        }
        return p.toArray();
    }
}
