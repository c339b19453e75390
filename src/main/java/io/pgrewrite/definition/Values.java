package io.pgrewrite.definition;

import io.pgrewrite.pg.Identifiers;
import java.nio.charset.StandardCharsets;
import java.time.DateTimeException;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.regex.Pattern;

/**
 * Parsers from a value's text, as written in the YAML, to what the definition holds. A parser that
 * refuses a value says what to give instead; {@link Binder} adds the file, key and value.
 */
final class Values {

    /** Text to value, or {@link Invalid} saying what is allowed. */
    @FunctionalInterface
    interface Parser<T> {
        T parse(String text) throws Invalid;
    }

    /** A refused value; the message says what to give instead. */
    static final class Invalid extends Exception {
        private static final long serialVersionUID = 1L;

        Invalid(String whatToGive) {
            super(whatToGive, null, false, false);
        }
    }

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.-]{1,80}");
    private static final Pattern WHOLE = Pattern.compile("[+-]?[0-9][0-9_]*");
    private static final Pattern DATE = Pattern.compile("[0-9]{4}-[0-9]{2}-[0-9]{2}");
    private static final Pattern STORAGE_NAME = Pattern.compile("[a-z_][a-z0-9_.]*");
    private static final Pattern STORAGE_VALUE = Pattern.compile("[A-Za-z0-9_.]+");
    private Values() {
    }

    static String name(String text) throws Invalid {
        if (!NAME.matcher(text).matches()) {
            throw new Invalid("use 1 to 80 letters, digits, '_', '.' or '-', e.g. passage-massa-to-integer");
        }
        return text;
    }

    /** A schema, table or column name: anything PostgreSQL accepts once quoted. */
    static String identifier(String text) throws Invalid {
        if (text.isEmpty()) {
            throw new Invalid("give a name (any characters; it is quoted)");
        }
        if (text.indexOf('\0') >= 0) {
            throw new Invalid("a name cannot contain the NUL character");
        }
        if (!Identifiers.fits(text)) {
            throw new Invalid("PostgreSQL names have at most 63 bytes; this one has "
                    + text.getBytes(StandardCharsets.UTF_8).length);
        }
        return text;
    }

    /** {@code table:} as written: a name, or a schema and a name; {@code schema} is null when not given. */
    record QualifiedName(String schema, String name) {
    }

    /**
     * {@code passage}, {@code public.passage}, {@code "Archief 2024"."Passage-Log"}. A text without a
     * dot or a leading double quote is one name exactly as written (quotes inside it included), as it always
     * was. Otherwise the dot separates schema and table, outside double quotes; a quoted part is taken with
     * {@code ""} as one {@code "}, an unquoted part as written (not folded to lower case).
     */
    static QualifiedName qualifiedName(String text) throws Invalid {
        if (text.indexOf('.') < 0 && !text.startsWith("\"")) {
            return new QualifiedName(null, identifier(text));
        }
        java.util.List<String> parts = new java.util.ArrayList<>();
        int i = 0;
        while (true) {
            StringBuilder part = new StringBuilder();
            if (i < text.length() && text.charAt(i) == '"') {
                int open = i++;
                while (true) {
                    if (i >= text.length()) {
                        throw new Invalid("the double quote at position " + (open + 1) + " is never closed;"
                                + " write schema.table, e.g. public.passage or \"Archief 2024\".\"Passage-Log\"");
                    }
                    char c = text.charAt(i++);
                    if (c == '"' && i < text.length() && text.charAt(i) == '"') {
                        part.append('"');
                        i++;
                    } else if (c == '"') {
                        break;
                    } else {
                        part.append(c);
                    }
                }
            } else {
                while (i < text.length() && text.charAt(i) != '.') {
                    if (text.charAt(i) == '"') {
                        throw new Invalid("the double quote at position " + (i + 1) + " is inside a name that does not"
                                + " start with one; quote the whole part, e.g. \"Archief 2024\".\"Passage-Log\"");
                    }
                    part.append(text.charAt(i++));
                }
            }
            parts.add(identifier(part.toString()));
            if (i >= text.length()) {
                break;
            }
            if (text.charAt(i) != '.') {
                throw new Invalid("expected a '.' or the end after the quoted name at position " + (i + 1)
                        + "; write schema.table, e.g. \"Archief 2024\".\"Passage-Log\"");
            }
            i++;
        }
        if (parts.size() > 2) {
            throw new Invalid("give a table or schema.table; this has " + parts.size() + " parts (a name with a '.'"
                    + " in it goes in double quotes, e.g. \"archive.2024\")");
        }
        return parts.size() == 1 ? new QualifiedName(null, parts.get(0)) : new QualifiedName(parts.get(0), parts.get(1));
    }

    static String expression(String text) throws Invalid {
        return sql(text, "SQL expression", "md5(kenteken)");
    }

    /** {@code throttle.query}: one query, placed inside {@code SELECT (...)} when it runs. */
    static String query(String text) throws Invalid {
        return sql(text.strip().replaceAll(";\\s*$", ""), "SQL query", "SELECT count(*) FROM app.jobs WHERE state = 'busy'");
    }

    /** A number such as {@code 10}, {@code 0.5} or {@code 1e6}, at least 0. */
    static Double decimal(String text) throws Invalid {
        String whatToGive = "give a number of at least 0, e.g. 10 or 0.5";
        try {
            double d = Double.parseDouble(text.strip().replace("_", ""));
            if (!Double.isFinite(d) || d < 0) {
                throw new Invalid(whatToGive);
            }
            return d;
        } catch (NumberFormatException e) {
            throw new Invalid(whatToGive);
        }
    }

    /** {@code 80%} or {@code 80}: 1 to 100. */
    static Integer percent(String text) throws Invalid {
        String t = text.strip();
        return wholeNumber(1, 100).parse(t.endsWith("%") ? t.substring(0, t.length() - 1).strip() : t);
    }

    static Boolean bool(String text) throws Invalid {
        return switch (text.strip()) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new Invalid("give true or false");
        };
    }

    static String type(String text) throws Invalid {
        return sql(text, "SQL type", "integer or numeric(10,2)");
    }

    /** SQL that is placed inside a statement: one piece of it, never a second statement. */
    private static String sql(String text, String what, String example) throws Invalid {
        if (text.isBlank()) {
            throw new Invalid("give an " + what + ", e.g. " + example);
        }
        String problem = SqlText.problem(text);
        if (problem != null) {
            throw new Invalid("give a single " + what + ": " + problem);
        }
        return text;
    }

    static Operation operation(String text) throws Invalid {
        try {
            return Operation.fromYaml(text);
        } catch (IllegalArgumentException e) {
            throw new Invalid("allowed: " + Operation.yamlNames());
        }
    }

    static Retire retire(String text) throws Invalid {
        try {
            return Retire.fromYaml(text);
        } catch (IllegalArgumentException e) {
            throw new Invalid("allowed: drop (drop the old partition after the swap), keep (leave it, detached)");
        }
    }

    static Statistics statistics(String text) throws Invalid {
        try {
            return Statistics.fromYaml(text);
        } catch (IllegalArgumentException e) {
            throw new Invalid("allowed: after-swap (ANALYZE each partition after its swap, in the background),"
                    + " before-swap (ANALYZE its copy before the swap)");
        }
    }

    static Parser<Integer> wholeNumber(int min, int max) {
        return text -> {
            String whatToGive = "give a whole number from " + min + " to " + max;
            if (!WHOLE.matcher(text).matches()) {
                throw new Invalid(whatToGive);
            }
            long value;
            try {
                value = Long.parseLong(text.replace("_", ""));
            } catch (NumberFormatException e) {
                throw new Invalid(whatToGive);
            }
            if (value < min || value > max) {
                throw new Invalid("allowed: " + min + " to " + max);
            }
            return (int) value;
        };
    }

    static LocalDate date(String text) throws Invalid {
        if (!DATE.matcher(text).matches()) {
            throw new Invalid("give a date as YYYY-MM-DD, e.g. 2024-03-01");
        }
        try {
            return LocalDate.parse(text);
        } catch (DateTimeException e) {
            throw new Invalid("there is no such day; give a date as YYYY-MM-DD, e.g. 2024-03-01");
        }
    }

    /** Quartz checks the fields themselves when the trigger is made; here only their number. */
    static String cron(String text) throws Invalid {
        int fields = text.isBlank() ? 0 : text.strip().split("\\s+").length;
        if (fields != 6 && fields != 7) {
            throw new Invalid("give a Quartz cron expression of 6 or 7 fields (seconds minutes hours day-of-month month"
                    + " day-of-week [year]), e.g. \"0 0 1 * * ?\"; this one has " + fields);
        }
        return text.strip();
    }

    static ZoneId zone(String text) throws Invalid {
        try {
            return ZoneId.of(text);
        } catch (DateTimeException e) {
            throw new Invalid("give a time zone such as UTC, Europe/Amsterdam or +01:00");
        }
    }

    static String storageName(String text) throws Invalid {
        if (!STORAGE_NAME.matcher(text).matches()) {
            throw new Invalid("give a storage parameter name in lower case, e.g. fillfactor or toast.autovacuum_enabled");
        }
        return text;
    }

    static String storageValue(String text) throws Invalid {
        if (!STORAGE_VALUE.matcher(text).matches()) {
            throw new Invalid("give a plain value of letters, digits, '_' and '.', e.g. 90 or off");
        }
        return text;
    }
}
