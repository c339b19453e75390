package io.pgrewrite.pg;

import java.util.List;
import java.util.stream.Collectors;

/**
 * The one place identifiers become SQL text. Every name is double-quoted, always, exactly as
 * PostgreSQL's {@code quote_ident} would for a name that needs it: a name read from a job definition
 * or the catalog is never concatenated raw.
 */
public final class Identifiers {

    private Identifiers() {
    }

    /** {@code My "Table"} becomes {@code "My ""Table"""}. */
    public static String quote(String name) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("an SQL identifier must not be empty");
        }
        if (name.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("an SQL identifier must not contain NUL: " + name);
        }
        return '"' + name.replace("\"", "\"\"") + '"';
    }

    /** {@code schema.name}, both parts quoted. */
    public static String qualified(String schema, String name) {
        return quote(schema) + "." + quote(name);
    }

    /** A comma-separated list of quoted names. */
    public static String list(List<String> names) {
        return names.stream().map(Identifiers::quote).collect(Collectors.joining(", "));
    }

    /** Names longer than PostgreSQL's 63-byte limit are truncated by the server; refuse them instead. */
    public static boolean fits(String name) {
        return name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length <= 63;
    }
}
