package io.pgrewrite.definition;

/**
 * Just enough SQL lexing to find a {@code ;} that would end the statement an expression is placed
 * in. Skips string constants ({@code '...'}, {@code E'...'} with backslash escapes), quoted
 * identifiers ({@code "..."}) and dollar quotes ({@code $$...$$}, {@code $tag$...$tag$}). Everything
 * else is left to the database, which type-checks expressions during plan.
 */
final class SqlText {

    private SqlText() {
    }

    /** The index of the first {@code ;} outside quotes, or -1. */
    static int statementEnd(String sql) {
        int i = 0;
        while (i < sql.length()) {
            char c = sql.charAt(i);
            if (c == ';') {
                return i;
            } else if (c == '\'') {
                i = afterQuote(sql, i + 1, '\'', isEscapeString(sql, i));
            } else if (c == '"') {
                i = afterQuote(sql, i + 1, '"', false);
            } else if (c == '$' && dollarTag(sql, i) != null) {
                String tag = dollarTag(sql, i);
                int close = sql.indexOf(tag, i + tag.length());
                i = close < 0 ? sql.length() : close + tag.length();
            } else {
                i++;
            }
        }
        return -1;
    }

    /** After the closing quote; a doubled quote closes and reopens, which comes to the same. */
    private static int afterQuote(String sql, int from, char quote, boolean backslashEscapes) {
        int i = from;
        while (i < sql.length()) {
            char c = sql.charAt(i);
            if (backslashEscapes && c == '\\') {
                i += 2;
            } else if (c == quote) {
                return i + 1;
            } else {
                i++;
            }
        }
        return sql.length();
    }

    /** {@code E'...'}: the quote follows a lone E (not the end of a longer word such as {@code some'}). */
    private static boolean isEscapeString(String sql, int quote) {
        return quote >= 1 && (sql.charAt(quote - 1) == 'E' || sql.charAt(quote - 1) == 'e')
                && (quote == 1 || !isWordChar(sql.charAt(quote - 2)));
    }

    /** {@code $tag$} starting at {@code i}, or null ({@code $1} and {@code a$b} are not dollar quotes). */
    private static String dollarTag(String sql, int i) {
        if (i > 0 && isWordChar(sql.charAt(i - 1))) {
            return null;
        }
        int j = i + 1;
        while (j < sql.length() && (Character.isLetterOrDigit(sql.charAt(j)) || sql.charAt(j) == '_')) {
            if (j == i + 1 && Character.isDigit(sql.charAt(j))) {
                return null;
            }
            j++;
        }
        return j < sql.length() && sql.charAt(j) == '$' ? sql.substring(i, j + 1) : null;
    }

    /** Part of an identifier or keyword (PostgreSQL allows {@code $} after the first character). */
    private static boolean isWordChar(char c) {
        return Character.isLetterOrDigit(c) || c == '_' || c == '$';
    }
}
