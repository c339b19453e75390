package io.pgrewrite.pg;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.RowMapper;

/**
 * Every statement pgrewrite issues goes through here. State-changing statements are logged and,
 * under {@code --dry-run}, printed instead of run; catalog reads always run (a dry run needs them).
 * Values are always bind parameters; identifiers come from {@link Identifiers}.
 */
public final class SqlRunner {

    private static final Logger log = LoggerFactory.getLogger(SqlRunner.class);

    private final JdbcTemplate jdbc;
    private final boolean dryRun;
    private final PrintStream dryRunOut;

    public SqlRunner(JdbcTemplate jdbc, boolean dryRun, PrintStream dryRunOut) {
        this.jdbc = jdbc;
        this.dryRun = dryRun;
        this.dryRunOut = dryRunOut;
    }

    public static SqlRunner live(JdbcTemplate jdbc) {
        return new SqlRunner(jdbc, false, System.out);
    }

    public boolean dryRun() {
        return dryRun;
    }

    public JdbcTemplate jdbc() {
        return jdbc;
    }

    /** Runs (or, dry, prints) a statement that changes something. Returns the update count, 0 when dry. */
    public int execute(String sql, Object... args) {
        if (dryRun) {
            print(sql, args);
            return 0;
        }
        if (log.isDebugEnabled()) {
            log.debug("{}{}", oneLine(sql), args.length == 0 ? "" : " -- " + Arrays.toString(args));
        }
        return args.length == 0 ? jdbc.update(sql) : jdbc.update(sql, args);
    }

    /**
     * Several statements without parameters, sent in one round trip (for work under a lock, where every
     * round trip is time the application waits). Dry, each is printed.
     */
    public void executeAll(java.util.List<String> statements) {
        if (statements.isEmpty()) {
            return;
        }
        if (dryRun) {
            statements.forEach(this::print);
            return;
        }
        if (log.isDebugEnabled()) {
            statements.forEach(s -> log.debug("{}", oneLine(s)));
        }
        jdbc.execute(String.join(";\n", statements));
    }

    /** A statement that is printed under dry run but must not change anything when it runs. */
    public void print(String sql, Object... args) {
        dryRunOut.println(oneLine(sql).endsWith(";") ? oneLine(sql) : oneLine(sql) + ";"
                + (args.length == 0 ? "" : "  -- with " + Arrays.toString(args)));
    }

    public <T> List<T> query(String sql, RowMapper<T> mapper, Object... args) {
        return jdbc.query(sql, mapper, args);
    }

    public <T> T queryOne(String sql, Class<T> type, Object... args) {
        return jdbc.queryForObject(sql, type, args);
    }

    public List<Map<String, Object>> queryRows(String sql, Object... args) {
        return jdbc.queryForList(sql, args);
    }

    static String oneLine(String sql) {
        return sql.strip().replaceAll("\\s*\\n\\s*", " ");
    }
}
