package io.pgrewrite.testsupport;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import javax.sql.DataSource;

/**
 * A data source that records the text of every statement sent through it (prepared or plain), in order: for
 * tests that count what a piece of pgrewrite asks the database, so that work which should run once does
 * not quietly come back on every partition.
 */
public final class StatementLog {

    private final List<String> statements = Collections.synchronizedList(new ArrayList<>());
    private final DataSource dataSource;

    public StatementLog(DataSource target) {
        this.dataSource = proxy(DataSource.class, target, (m, args, result) -> result instanceof Connection c
                ? proxy(Connection.class, c, this::onConnection) : result);
    }

    public DataSource dataSource() {
        return dataSource;
    }

    /** The statements sent since the last {@link #clear}, whitespace folded. */
    public List<String> statements() {
        synchronized (statements) {
            return List.copyOf(statements);
        }
    }

    /** How many of the statements sent since the last {@link #clear} are {@code sql} (whitespace folded). */
    public long count(String sql) {
        String want = fold(sql);
        return statements().stream().filter(want::equals).count();
    }

    /** How many of the statements sent since the last {@link #clear} start with {@code prefix} (whitespace folded). */
    public long countStartingWith(String prefix) {
        String want = fold(prefix);
        return statements().stream().filter(s -> s.startsWith(want)).count();
    }

    public void clear() {
        statements.clear();
    }

    private Object onConnection(Method m, Object[] args, Object result) {
        if (m.getName().startsWith("prepare") && args != null && args.length > 0 && args[0] instanceof String sql) {
            statements.add(fold(sql));
        }
        return result instanceof Statement s && !(result instanceof java.sql.PreparedStatement)
                ? proxy(Statement.class, s, (sm, sargs, r) -> r) : result;
    }

    private void record(Method m, Object[] args) {
        if (m.getName().startsWith("execute") && args != null && args.length > 0 && args[0] instanceof String sql) {
            statements.add(fold(sql));
        }
    }

    /** A statement as the log records it. */
    public static String fold(String sql) {
        return sql.strip().replaceAll("\\s+", " ");
    }

    private interface After {
        Object apply(Method m, Object[] args, Object result) throws Exception;
    }

    @SuppressWarnings("unchecked")
    private <T> T proxy(Class<T> type, T target, After after) {
        return (T) Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, (p, m, args) -> {
            if (type == Statement.class) {
                record(m, args);
            }
            if (m.getName().equals("unwrap") || m.getName().equals("isWrapperFor")) {
                return m.invoke(target, args);
            }
            try {
                return after.apply(m, args, m.invoke(target, args));
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        });
    }
}
