package io.pgrewrite.copy;

import java.util.ArrayList;
import java.util.List;

/**
 * One chunk of the copy: the rows stored in heap pages {@code [from, to)} of P ({@code to} null: to the
 * end, for the last chunk, so pages added while the copy ran are included). Read by a TID range scan:
 * only those pages, in physical order. A key range looked tempting, but PostgreSQL plans
 * {@code (id, passage_at) <= (…)} as a sequential scan of the whole partition for every chunk.
 */
public record BlockRange(long from, Long to) {

    /** WHERE clause over P's ctid; parameters from {@link #params()}. */
    String where() {
        return to == null ? "ctid >= ?::tid" : "ctid >= ?::tid AND ctid < ?::tid";
    }

    Object[] params() {
        List<Object> p = new ArrayList<>();
        p.add("(" + from + ",0)");
        if (to != null) {
            p.add("(" + to + ",0)");
        }
        return p.toArray();
    }

    /** Where the next chunk starts. */
    long next() {
        return to == null ? Long.MAX_VALUE : to;
    }

    @Override
    public String toString() {
        return "pages " + from + " .. " + (to == null ? "end" : String.valueOf(to - 1));
    }
}
