package io.pgrewrite.definition;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Just enough SQL lexing to refuse, when the definition is read, a text that would not stay in the
 * slot of the statement it is placed in: a {@code ;} that would end that statement, a {@code )} that
 * closes a parenthesis the text did not open, and a quote, comment or parenthesis left open. Knows
 * string constants ({@code '...'}, {@code E'...'} with backslash escapes, as with
 * {@code standard_conforming_strings} on), quoted identifiers ({@code "..."}), dollar quotes
 * ({@code $$...$$}, {@code $tag$...$tag$}), {@code --} line comments and nested {@code /* *}{@code /}
 * block comments.
 *
 * <p>This is the early, offline check. The proof is the server's: plan has PostgreSQL parse each
 * expression in its statement and refuse more than one command ({@code io.pgrewrite.plan.OneExpression}).
 */
final class SqlText {

    private SqlText() {
    }

    /** The index of the first {@code ;} outside quotes and comments, or -1. */
    static int statementEnd(String sql) {
        Scan s = scan(sql);
        return s.kind == Problem.SEMICOLON ? s.at : -1;
    }

    /** Why the text cannot be placed inside a statement as one piece, or null when it can. */
    static String problem(String sql) {
        Scan s = scan(sql);
        return switch (s.kind) {
            case NONE -> null;
            case SEMICOLON -> "the ';' at position " + (s.at + 1) + " is outside quotes and comments and would end the statement";
            case CLOSES -> "the ')' at position " + (s.at + 1) + " closes a parenthesis the text did not open";
            case OPEN_PAREN -> "the '(' at position " + (s.at + 1) + " is never closed";
            case OPEN_QUOTE -> "the quote or comment that starts at position " + (s.at + 1) + " is never closed";
        };
    }

    private enum Problem { NONE, SEMICOLON, CLOSES, OPEN_PAREN, OPEN_QUOTE }

    private record Scan(Problem kind, int at) {
    }

    private static Scan scan(String sql) {
        Deque<Integer> opened = new ArrayDeque<>();
        int i = 0;
        while (i < sql.length()) {
            char c = sql.charAt(i);
            int next;
            if (c == ';') {
                return new Scan(Problem.SEMICOLON, i);
            } else if (c == '(') {
                opened.push(i);
                next = i + 1;
            } else if (c == ')') {
                if (opened.isEmpty()) {
                    return new Scan(Problem.CLOSES, i);
                }
                opened.pop();
                next = i + 1;
            } else if (c == '\'') {
                next = afterQuote(sql, i + 1, '\'', isEscapeString(sql, i));
            } else if (c == '"') {
                next = afterQuote(sql, i + 1, '"', false);
            } else if (c == '-' && sql.startsWith("--", i)) {
                int eol = sql.indexOf('\n', i);
                next = eol < 0 ? sql.length() : eol + 1; // the end of the text ends it: the caller adds a new line
            } else if (c == '/' && sql.startsWith("/*", i)) {
                next = afterBlockComment(sql, i + 2);
            } else if (c == '$' && dollarTag(sql, i) != null) {
                String tag = dollarTag(sql, i);
                int close = sql.indexOf(tag, i + tag.length());
                next = close < 0 ? -1 : close + tag.length();
            } else {
                next = i + 1;
            }
            if (next < 0) {
                return new Scan(Problem.OPEN_QUOTE, i);
            }
            i = next;
        }
        return !opened.isEmpty() ? new Scan(Problem.OPEN_PAREN, opened.peek()) : new Scan(Problem.NONE, -1);
    }

    /** After the closing quote, or -1; a doubled quote closes and reopens, which comes to the same. */
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
        return -1;
    }

    /** After the {@code *}{@code /} that closes a block comment (they nest in PostgreSQL), or -1. */
    private static int afterBlockComment(String sql, int from) {
        int depth = 1;
        int i = from;
        while (i < sql.length()) {
            if (sql.startsWith("/*", i)) {
                depth++;
                i += 2;
            } else if (sql.startsWith("*/", i)) {
                if (--depth == 0) {
                    return i + 2;
                }
                i += 2;
            } else {
                i++;
            }
        }
        return -1;
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
