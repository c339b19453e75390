package io.pgrewrite.testsupport;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.concurrent.atomic.AtomicInteger;

import javax.sql.DataSource;

/**
 * A data source that counts the connections taken from it: outside a transaction a JdbcTemplate takes one
 * per statement, so this counts what a sampler asks the database.
 */
public final class CountingDataSource {

    private final AtomicInteger count = new AtomicInteger();
    private final DataSource dataSource;

    public CountingDataSource(DataSource target) {
        this.dataSource = (DataSource) Proxy.newProxyInstance(DataSource.class.getClassLoader(), new Class<?>[] {DataSource.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("getConnection")) {
                        count.incrementAndGet();
                    }
                    try {
                        return method.invoke(target, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    public DataSource dataSource() {
        return dataSource;
    }

    /** Connections taken so far. */
    public int count() {
        return count.get();
    }

    /** Connections taken since the last call (or since it was made). */
    public int reset() {
        return count.getAndSet(0);
    }

}
