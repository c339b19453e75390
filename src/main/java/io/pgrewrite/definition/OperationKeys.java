package io.pgrewrite.definition;

/** Which of {@code column}, {@code type}, {@code using} and {@code set} each operation takes. */
final class OperationKeys {

    private OperationKeys() {
    }

    static boolean allows(Operation operation, String key) {
        return switch (operation) {
            case COMPACT -> false;
            case BACKFILL -> key.equals("set");
            case ADD_COLUMN, ALTER_COLUMN_TYPE -> !key.equals("set");
            case DROP_COLUMN -> key.equals("column");
        };
    }

    static boolean requires(Operation operation, String key) {
        return allows(operation, key) && !(operation == Operation.ALTER_COLUMN_TYPE && key.equals("using"));
    }

    /** What the key means for the operation, for "missing required key" messages. */
    static String meaning(Operation operation, String key) {
        return switch (key) {
            case "column" -> switch (operation) {
                case ADD_COLUMN -> "the column to add";
                case ALTER_COLUMN_TYPE -> "the column whose type changes";
                default -> "the column to drop";
            };
            case "type" -> operation == Operation.ADD_COLUMN
                    ? "the new column's SQL type, e.g. text" : "the column's new SQL type, e.g. integer";
            case "using" -> "the SQL expression that computes each row's value, e.g. md5(kenteken)";
            default -> "the columns to set and an SQL expression for each, e.g. set: {passage_id: id}";
        };
    }

    /** What the operation takes instead, for "not allowed" messages. */
    static String instead(Operation operation) {
        return switch (operation) {
            case COMPACT -> "compact rewrites the rows as they are; it takes no column, type, using or set";
            case BACKFILL -> "use 'set' to give column expressions";
            case ADD_COLUMN -> "add-column takes column, type and using";
            case ALTER_COLUMN_TYPE -> "alter-column-type takes column, type and optionally using";
            case DROP_COLUMN -> "drop-column takes only column";
        };
    }
}
