package io.pgrewrite.plan;

/** Human-readable byte sizes, powers of 1024 like pg_size_pretty. */
public final class Bytes {

    private Bytes() {
    }

    public static String format(long bytes) {
        if (bytes < 0) {
            return "-" + format(-bytes);
        }
        String[] units = {"B", "kB", "MB", "GB", "TB"};
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return u == 0 ? bytes + " B" : String.format(java.util.Locale.ROOT, "%.1f %s", v, units[u]);
    }
}
