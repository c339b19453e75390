package io.pgrewrite.definition;

import java.util.ArrayList;
import java.util.List;

/** Collects every problem of one definition so the user sees them all at once, one per line. */
final class Problems {

    private static final int MAX_SHOWN = 100;

    private final String source;
    private final List<String> lines = new ArrayList<>();

    Problems(String source) {
        this.source = source;
    }

    void add(String message) {
        lines.add(source + ": " + message);
    }

    /** {@code 'copy.pause' is 'x'; <whatToDo>}. */
    void badValue(String key, String value, String whatToDo) {
        add("'" + key + "' is '" + shown(value) + "'; " + whatToDo);
    }

    void missing(String key, String meaning) {
        add("missing required key '" + key + "' (" + meaning + ")");
    }

    void throwIfAny() {
        if (!lines.isEmpty()) {
            throw new DefinitionException(String.join("\n", lines));
        }
    }

    /** A value as it appears in a one-line message: line breaks escaped, very long values shortened. */
    static String shown(String value) {
        String oneLine = value.replace("\r", "\\r").replace("\n", "\\n").replace("\0", "\\0");
        return oneLine.length() <= MAX_SHOWN ? oneLine : oneLine.substring(0, MAX_SHOWN) + "...";
    }
}
