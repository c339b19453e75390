-- Remote partitioning: the request channel (Spring Integration's JDBC channel message store, from
-- spring-integration-jdbc 7.0.5 schema-postgresql.sql, channel tables only) and worker heartbeats.

CREATE SEQUENCE INT_MESSAGE_SEQ START WITH 1 INCREMENT BY 1 NO CYCLE;

CREATE TABLE INT_CHANNEL_MESSAGE (
	MESSAGE_ID CHAR(36) NOT NULL,
	GROUP_KEY CHAR(36) NOT NULL,
	CREATED_DATE BIGINT NOT NULL,
	MESSAGE_PRIORITY BIGINT,
	MESSAGE_SEQUENCE BIGINT NOT NULL DEFAULT nextval('INT_MESSAGE_SEQ'),
	MESSAGE_CONTENT BYTEA,
	REGION VARCHAR(100) NOT NULL,
	constraint INT_CHANNEL_MESSAGE_PK primary key (REGION, GROUP_KEY, CREATED_DATE, MESSAGE_SEQUENCE)
);

CREATE INDEX INT_CHANNEL_MSG_DELETE_IDX ON INT_CHANNEL_MESSAGE (REGION, GROUP_KEY, MESSAGE_ID);

-- One row per partition attempt a worker is running: the manager re-sends the request of a partition
-- whose worker stopped beating (it died), or whose request was taken but never started.
CREATE TABLE heartbeat (
    step_execution_id bigint      PRIMARY KEY,
    worker            text        NOT NULL,
    taken_at          timestamptz NOT NULL DEFAULT now(),
    beat_at           timestamptz NOT NULL DEFAULT now()
);
