package io.pgrewrite.plan;

import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;

import org.postgresql.util.PSQLException;
import org.springframework.jdbc.core.ConnectionCallback;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * The server's proof that an expression from a job definition is one SQL expression: PostgreSQL
 * parses the statement the expression is placed in, {@code SELECT CAST((<expr>) AS <type>) FROM ONLY
 * <parent> LIMIT 0}, type-checks it against the table, and refuses it if the text makes more than one
 * command of it. Nothing in the text is run.
 *
 * <p>Why this path: a statement text sent through pgjdbc is split by pgjdbc on every {@code ;} it sees
 * (extended protocol) or sent whole as a simple query (simple protocol); either way every command in it
 * runs. Here the text travels as a bound value and only PL/pgSQL's {@code OPEN … FOR EXECUTE} parses it:
 * {@code SPI_cursor_parse_open} parses and analyses every command but refuses a plan of more than one
 * ("cannot open multi-query plan as cursor", SQLSTATE 42P11) before anything executes. The cursor is
 * opened on {@code LIMIT 0} and never fetched; the transaction is rolled back.
 */
final class OneExpression {

    /** The text goes in as a bound value, local to the transaction that is rolled back. No lock. */
    static final String SET_TEXT = "SELECT set_config('pgrewrite.expression_check', ?, true)";

    /**
     * The block's own text is fixed: no definition text is ever part of it. AccessShareLock on the
     * parent only (parse analysis of {@code FROM ONLY parent}), for the instant of the check; no partition
     * is opened. A refusal with SQLSTATE 0A000 (a set-returning function in WHERE) comes back as P0001 with the same
     * message: the connection pool takes 0A000 for a broken connection and closes it, and the check's rollback then
     * failed the plan with "Connection is closed".
     */
    static final String OPEN_AS_CURSOR = """
            DO $pgrewrite_check$
            DECLARE
                c refcursor;
            BEGIN
                OPEN c FOR EXECUTE current_setting('pgrewrite.expression_check');
                CLOSE c;
            EXCEPTION WHEN feature_not_supported THEN
                RAISE EXCEPTION USING MESSAGE = SQLERRM;
            END
            $pgrewrite_check$""";

    static final String MULTIPLE_COMMANDS = "42P11";

    private OneExpression() {
    }

    /**
     * The statement the check parses, with the expression on lines of its own as everywhere else. The table goes by an
     * alias the expression cannot name: the copy reads a partition, not the table, so {@code ev.massa} would fail
     * there, after expand.
     */
    static String probe(String castExpression, String qualifiedParent) {
        return "SELECT " + castExpression + " FROM ONLY " + qualifiedParent + " AS \"pgrewrite row\" LIMIT 0";
    }

    /**
     * Once {@link #probe} passed: the expression as the one argument of {@code pg_typeof} in a WHERE clause, which
     * PostgreSQL refuses aggregates, window and set-returning functions in. The copy computes the expression for each
     * row on its own, and a sum over the rows read (a partition's, or the trigger's one row) is no column's value (an
     * {@code add-column} of {@code sum(massa) over ()} completed with a sum per partition); and a text that closes the
     * CAST and opens another ({@code 1) AS int), CAST((2}), two values in a select list, is two arguments here.
     */
    static String rowProbe(String castExpression, String qualifiedParent) {
        return "SELECT FROM ONLY " + qualifiedParent + " AS \"pgrewrite row\" WHERE pg_typeof(" + castExpression
                + ") IS NULL LIMIT 0";
    }

    /** The server's word for the probe's WHERE, said of what the operator wrote. */
    static String inOwnWords(String problem) {
        return problem == null ? null : problem.replace("not allowed in WHERE", "not allowed in an expression computed for each"
                + " row on its own").replaceAll("invalid reference to FROM-clause entry for table (\"[^\"]*\"|\\S+)",
                        "a column is named with its table ($1): name it alone");
    }

    /**
     * Null when PostgreSQL parsed {@code probe} as one command that type-checks; otherwise the server's
     * reason, in one line.
     */
    static String problem(JdbcTemplate jdbc, String probe) {
        return jdbc.execute((ConnectionCallback<String>) c -> {
            boolean autoCommit = c.getAutoCommit();
            // Our own transaction, rolled back; inside a caller's transaction a savepoint, so that only the
            // check is undone (set_config's change is undone with it).
            Savepoint savepoint = autoCommit ? null : c.setSavepoint();
            c.setAutoCommit(false);
            try (PreparedStatement set = c.prepareStatement(SET_TEXT); Statement open = c.createStatement()) {
                set.setString(1, probe);
                set.execute();
                open.execute(OPEN_AS_CURSOR);
                return null;
            } catch (SQLException e) {
                if (MULTIPLE_COMMANDS.equals(e.getSQLState())) {
                    return "PostgreSQL reads it as more than one SQL command (a ';' ends the statement it is placed in)";
                }
                return inOwnWords(primaryMessage(e));
            } finally {
                if (savepoint == null) {
                    c.rollback();
                    c.setAutoCommit(true);
                } else {
                    c.rollback(savepoint);
                }
            }
        });
    }

    /** The server's message without the PL/pgSQL context of the check itself. */
    private static String primaryMessage(SQLException e) {
        if (e instanceof PSQLException p && p.getServerErrorMessage() != null && p.getServerErrorMessage().getMessage() != null) {
            return p.getServerErrorMessage().getMessage().replaceAll("\\s+", " ");
        }
        return String.valueOf(e.getMessage()).replaceAll("\\s+", " ");
    }
}
