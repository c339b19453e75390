package io.pgrewrite.plan;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.pgrewrite.definition.JobDefinition;
import io.pgrewrite.pg.Identifiers;

/**
 * What a rewritten row is made of: the target columns of {@code P__rw} (the parent's live columns,
 * so no dropped ones) and, for each, the SQL that computes it from the source row. Shared by copy,
 * catch up, verify and the sync trigger, so the four can never disagree.
 */
public record Projection(List<String> columns, Map<String, String> computed) {

    /** Suffix of the shadow column a type change fills while the job runs. */
    public static final String SHADOW_SUFFIX = "__pgrewrite";

    /** The expressions a definition computes, keyed by target column, each cast to the column's type. */
    public static Map<String, String> computedColumns(JobDefinition def, Table table) {
        Map<String, String> computed = new LinkedHashMap<>();
        switch (def.operation()) {
            case BACKFILL -> def.set().forEach((col, expr) -> computed.put(col, cast(expr,
                    table.column(col).map(Table.Column::type).orElse("unknown"))));
            case ALTER_COLUMN_TYPE -> computed.put(shadowColumn(def.column()), cast(def.using(), def.type()));
            case ADD_COLUMN -> computed.put(def.column(), cast(def.using(), def.type()));
            case COMPACT, DROP_COLUMN -> {
            }
        }
        return computed;
    }

    /** The projection over the parent's columns as they are now (after expand). */
    public static Projection of(JobDefinition def, Table table) {
        List<String> cols = new ArrayList<>();
        for (Table.Column c : table.columns()) {
            if (!c.generated()) {
                cols.add(c.name());
            }
        }
        return new Projection(List.copyOf(cols), computedColumns(def, table));
    }

    public static String shadowColumn(String column) {
        return column + SHADOW_SUFFIX;
    }

    static String cast(String expr, String type) {
        // On lines of their own: a -- comment in the expression cannot swallow the rest of the statement.
        return "CAST((\n" + expr + "\n) AS " + type + ")";
    }

    /** {@code "a", "b", "c"}: the insert column list. */
    public String columnList() {
        return Identifiers.list(columns);
    }

    /** The select list over a source row aliased {@code alias}: computed expressions or the plain column. */
    public String selectList() {
        List<String> items = new ArrayList<>();
        for (String c : columns) {
            String expr = computed.get(c);
            items.add(expr != null ? expr : Identifiers.quote(c));
        }
        return String.join(", ", items);
    }
}
