package io.pgrewrite.remote;

import javax.sql.DataSource;

import org.springframework.batch.integration.partition.StepExecutionRequest;
import org.springframework.integration.channel.QueueChannel;
import org.springframework.integration.jdbc.store.JdbcChannelMessageStore;
import org.springframework.integration.jdbc.store.channel.PostgresChannelMessageStoreQueryProvider;
import org.springframework.integration.store.MessageGroupQueue;

/**
 * The channel partition requests travel on: a Spring Integration QueueChannel whose queue is a
 * JdbcChannelMessageStore in schema {@code pgrewrite} (PostgreSQL query provider: FOR UPDATE SKIP
 * LOCKED), so managers and workers need nothing but the database. A request is removed from the table
 * when a worker takes it: delivery is at most once, and {@link RemotePartitionHandler} makes up for
 * requests lost with a worker.
 */
public final class RequestChannel {

    static final String GROUP = "pgrewrite.partition-requests";

    private RequestChannel() {
    }

    public static QueueChannel create(DataSource dataSource) {
        JdbcChannelMessageStore store = new JdbcChannelMessageStore(dataSource);
        store.setTablePrefix("pgrewrite.INT_");
        store.setRegion("pgrewrite");
        store.setChannelMessageStoreQueryProvider(new PostgresChannelMessageStoreQueryProvider());
        // Deserialization is an allow-list: only what a partition request is made of.
        store.addAllowedPatterns(StepExecutionRequest.class.getName(), "org.springframework.messaging.support.GenericMessage",
                "org.springframework.messaging.MessageHeaders", "java.util.*", "java.lang.*");
        try {
            store.afterPropertiesSet();
        } catch (Exception e) {
            throw new IllegalStateException("cannot set up the partition request channel: " + e.getMessage(), e);
        }
        QueueChannel channel = new QueueChannel(new MessageGroupQueue(store, GROUP));
        channel.setBeanName("partitionRequests");
        return channel;
    }

    /** Is a request (by message id) still waiting in the channel, not yet taken by a worker? */
    static final String QUEUED = "SELECT count(*) FROM pgrewrite.int_channel_message WHERE message_id = ?";
}
