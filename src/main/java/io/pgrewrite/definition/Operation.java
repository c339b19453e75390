package io.pgrewrite.definition;

import java.util.Arrays;
import java.util.stream.Collectors;

/** What a job does to every partition of its table; {@link #yamlName()} is how a job definition spells it. */
public enum Operation {

    /** Rewrite the rows as they are: removes bloat, applies new storage parameters. */
    COMPACT("compact"),
    /** Set existing columns from SQL expressions. */
    BACKFILL("backfill"),
    /** Add a column whose values come from an SQL expression. */
    ADD_COLUMN("add-column"),
    /** Change a column's type, converting values with a {@code USING} expression. */
    ALTER_COLUMN_TYPE("alter-column-type"),
    /** Drop a column and reclaim its space. */
    DROP_COLUMN("drop-column");

    private final String yamlName;

    Operation(String yamlName) {
        this.yamlName = yamlName;
    }

    public String yamlName() {
        return yamlName;
    }

    /**
     * The operation spelled {@code name} in a job definition.
     *
     * @throws IllegalArgumentException naming the allowed spellings when there is none
     */
    public static Operation fromYaml(String name) {
        for (Operation operation : values()) {
            if (operation.yamlName.equals(name)) {
                return operation;
            }
        }
        throw new IllegalArgumentException("unknown operation '" + name + "'; allowed: " + yamlNames());
    }

    /** Whether the table's columns change, which needs a shadow column (expand) and a cut-over (contract). */
    public boolean changesShape() {
        return this == ADD_COLUMN || this == ALTER_COLUMN_TYPE;
    }

    /** {@code compact, backfill, ...}: for messages. */
    static String yamlNames() {
        return Arrays.stream(values()).map(Operation::yamlName).collect(Collectors.joining(", "));
    }
}
