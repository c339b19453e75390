package io.pgrewrite.plan;

import java.util.ArrayList;
import java.util.List;

import io.pgrewrite.pg.Identifiers;

/**
 * SQL fragments for the row key (primary key or unique NOT NULL key) that copy ranges and change
 * replay go by. Key values travel as text and are bound as parameters, cast to the column's type.
 */
public record Keys(List<String> columns, List<String> types) {

    public static Keys of(Table table) {
        List<String> types = new ArrayList<>();
        for (String c : table.keyColumns()) {
            types.add(table.column(c).orElseThrow().type());
        }
        return new Keys(table.keyColumns(), List.copyOf(types));
    }

    /** {@code ("id", "passage_at")}, optionally qualified by a table alias. */
    public String tuple(String alias) {
        List<String> parts = new ArrayList<>();
        for (String c : columns) {
            parts.add(alias == null ? Identifiers.quote(c) : alias + "." + Identifiers.quote(c));
        }
        return "(" + String.join(", ", parts) + ")";
    }

    /** {@code (?::uuid, ?::timestamp without time zone)}: a key value as bind parameters. */
    public String params() {
        List<String> parts = new ArrayList<>();
        for (String t : types) {
            parts.add("?::" + t);
        }
        return "(" + String.join(", ", parts) + ")";
    }

    /** {@code "id"::text, "passage_at"::text}: read a key back as text. */
    public String asText(String alias) {
        List<String> parts = new ArrayList<>();
        for (String c : columns) {
            parts.add((alias == null ? "" : alias + ".") + Identifiers.quote(c) + "::text");
        }
        return String.join(", ", parts);
    }

    /**
     * ORDER BY over the key of the table aliased {@code alias}. Qualified on purpose: next to a select
     * list of {@code "id"::text}, a bare {@code ORDER BY "id"} would sort by that text output column.
     */
    public String orderBy(String alias, boolean descending) {
        List<String> parts = new ArrayList<>();
        for (String c : columns) {
            parts.add(alias + "." + Identifiers.quote(c) + (descending ? " DESC" : ""));
        }
        return String.join(", ", parts);
    }

    /** For messages: {@code id=..., passage_at=...}. */
    public String describe(List<String> values) {
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < columns.size(); i++) {
            parts.add(columns.get(i) + "=" + values.get(i));
        }
        return String.join(", ", parts);
    }
}
