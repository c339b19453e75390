package io.pgrewrite.pg;

import java.util.ArrayList;
import java.util.List;

/** A column's attoptions as the text of {@code ALTER COLUMN … SET (…)}, for carrying them to a new column or table. */
public final class ColumnOptions {

    private ColumnOptions() {
    }

    /**
     * attoptions are {@code name=value} with an option name and a number (n_distinct, n_distinct_inherited);
     * anything else is refused rather than placed in a statement.
     */
    public static String setList(List<String> options) {
        List<String> out = new ArrayList<>();
        for (String o : options) {
            int eq = o.indexOf('=');
            String k = eq < 0 ? o : o.substring(0, eq);
            String v = eq < 0 ? "" : o.substring(eq + 1);
            if (!k.matches("[a-z_][a-z0-9_]*") || !v.matches("[-+0-9.eE]+")) {
                throw new IllegalStateException("not a column option this can carry over: " + o);
            }
            out.add(k + " = " + v);
        }
        return String.join(", ", out);
    }
}
