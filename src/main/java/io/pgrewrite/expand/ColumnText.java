package io.pgrewrite.expand;

import io.pgrewrite.pg.Identifiers;

/**
 * Renames a column inside a definition the server printed (pg_get_indexdef, pg_get_constraintdef): every
 * reference to it as a column, written bare or in double quotes, becomes the quoted new name. String
 * literals, qualified names ({@code x.col}), function names ({@code col(}) and type names after
 * {@code ::} are left alone. The server prints column references unqualified in these definitions.
 */
final class ColumnText {

    private ColumnText() {
    }

    static String rename(String text, String from, String to) {
        StringBuilder out = new StringBuilder(text.length() + 16);
        int i = 0;
        int n = text.length();
        while (i < n) {
            char ch = text.charAt(i);
            if (ch == '\'') {
                int j = i + 1;
                while (j < n) {
                    if (text.charAt(j) == '\'') {
                        if (j + 1 < n && text.charAt(j + 1) == '\'') {
                            j += 2;
                            continue;
                        }
                        break;
                    }
                    j++;
                }
                out.append(text, i, Math.min(n, j + 1));
                i = j + 1;
            } else if (ch == '"') {
                int j = i + 1;
                StringBuilder name = new StringBuilder();
                while (j < n) {
                    if (text.charAt(j) == '"') {
                        if (j + 1 < n && text.charAt(j + 1) == '"') {
                            name.append('"');
                            j += 2;
                            continue;
                        }
                        break;
                    }
                    name.append(text.charAt(j++));
                }
                int end = Math.min(n, j + 1);
                if (name.toString().equals(from) && isReference(text, i, end)) {
                    out.append(Identifiers.quote(to));
                } else {
                    out.append(text, i, end);
                }
                i = end;
            } else if (Character.isLetter(ch) || ch == '_') {
                int j = i;
                while (j < n && (Character.isLetterOrDigit(text.charAt(j)) || text.charAt(j) == '_' || text.charAt(j) == '$')) {
                    j++;
                }
                String word = text.substring(i, j);
                if (word.equals(from) && isReference(text, i, j)) {
                    out.append(Identifiers.quote(to));
                } else {
                    out.append(word);
                }
                i = j;
            } else {
                out.append(ch);
                i++;
            }
        }
        return out.toString();
    }

    private static boolean isReference(String text, int start, int end) {
        int b = start - 1;
        while (b >= 0 && text.charAt(b) == ' ') {
            b--;
        }
        if (b >= 0 && text.charAt(b) == '.') {
            return false;
        }
        if (b >= 1 && text.charAt(b) == ':' && text.charAt(b - 1) == ':') {
            return false;
        }
        int a = end;
        while (a < text.length() && text.charAt(a) == ' ') {
            a++;
        }
        return !(a < text.length() && (text.charAt(a) == '(' || text.charAt(a) == '.'));
    }
}
