package io.pgrewrite.pg;

/**
 * The part of an index's definition that names neither the index nor its table, cut from {@code pg_get_indexdef} by
 * the length of what PostgreSQL writes before it, never by searching the text for a keyword: a quoted index, table or
 * schema name may hold {@code " USING "} itself (an index named {@code x USING btree (a);CREATE TABLE t();--} made
 * the text after the first one, SQL of the name's owner's choosing, part of pgrewrite's own statement).
 */
public final class IndexDefinitions {

    private IndexDefinitions() {
    }

    /**
     * An SQL expression for index {@code indexOid} (an SQL expression of type oid): its definition from
     * {@code " USING "} on, or null when the definition does not start as PostgreSQL 14–18 write it, {@code CREATE
     * [UNIQUE ]INDEX <index> ON [ONLY ]<schema>.<table>}, each name as {@code quote_ident} writes it.
     */
    public static String tail(String indexOid) {
        return """
                (SELECT CASE WHEN starts_with(t.rest, ' USING ') THEN t.rest END
                   FROM (SELECT CASE WHEN starts_with(h.after, 'ONLY ' || h.qtable) THEN substr(h.after, length(h.qtable) + 6)
                                     WHEN starts_with(h.after, h.qtable) THEN substr(h.after, length(h.qtable) + 1) END AS rest
                           FROM (SELECT CASE WHEN starts_with(d.def, d.head) THEN substr(d.def, length(d.head) + 1) END AS after,
                                        d.qtable
                                   FROM (SELECT pg_get_indexdef(x.indexrelid) AS def,
                                                'CREATE ' || CASE WHEN x.indisunique THEN 'UNIQUE ' ELSE '' END || 'INDEX '
                                                    || quote_ident(xc.relname) || ' ON ' AS head,
                                                quote_ident(tn.nspname) || '.' || quote_ident(tc.relname) AS qtable
                                           FROM pg_index x
                                           JOIN pg_class xc ON xc.oid = x.indexrelid
                                           JOIN pg_class tc ON tc.oid = x.indrelid
                                           JOIN pg_namespace tn ON tn.oid = tc.relnamespace
                                          WHERE x.indexrelid = %s) d) h) t)""".formatted(indexOid);
    }

    /** {@code tail} as read, or a failure that names the index when PostgreSQL wrote its definition otherwise. */
    public static String require(String tail, String index) {
        if (tail == null) {
            throw new IllegalStateException("cannot read the definition of index " + index + " from pg_get_indexdef: it does"
                    + " not start as CREATE [UNIQUE ]INDEX <name> ON <table>; report this with the index's definition");
        }
        return tail;
    }

    /**
     * The index's tablespace goes before its WHERE clause (CREATE INDEX … [TABLESPACE t] [WHERE p]);
     * pg_get_indexdef ends with " WHERE " and the predicate as pg_get_expr prints it.
     */
    public static String withTablespace(String tail, String predicate, String tablespace) {
        if (tablespace == null || tablespace.isEmpty()) {
            return tail;
        }
        String clause = " TABLESPACE " + Identifiers.quote(tablespace);
        if (predicate == null) {
            return tail + clause;
        }
        String where = " WHERE " + predicate;
        if (!tail.endsWith(where)) {
            throw new IllegalStateException("cannot place the tablespace in index definition " + tail);
        }
        return tail.substring(0, tail.length() - where.length()) + clause + where;
    }
}
