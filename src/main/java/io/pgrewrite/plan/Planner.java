package io.pgrewrite.plan;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.pgrewrite.definition.JobDefinition;
import io.pgrewrite.definition.Operation;
import io.pgrewrite.pg.Identifiers;
import org.springframework.dao.DataAccessException;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * plan: reads the catalog and checks every precondition before anything changes. Read-only.
 */
public final class Planner {

    public static final int MIN_SERVER_VERSION = 140000;

    static final String SERVER_VERSION = "SELECT current_setting('server_version_num')::int";

    /** The shared lock table: every lock of every transaction must fit in it. */
    static final String LOCK_SLOTS = """
            SELECT current_setting('max_locks_per_transaction')::int
                   * (current_setting('max_connections')::int + current_setting('max_prepared_transactions')::int)
            """;

    /**
     * The text bound: PostgreSQL parses it as exactly one type name (raw_parser's type-name mode) or
     * refuses it (NULL from 16 on, an error before), so 'type:' can be placed in a statement afterwards.
     */
    static final String TYPE_EXISTS = "SELECT to_regtype(?) IS NOT NULL";

    /** The server's own spelling of a type name, to compare with a column's format_type. */
    static final String NORMALIZE_TYPE = "SELECT format_type(to_regtype(?), NULL)";

    /**
     * What uses the column and is not carried onto the new column (ColumnObjects carries the parent's
     * indexes, unique and primary keys, valid CHECKs and a serial's sequence; an identity's sequence is
     * internal, deptype 'i'; expand.ForeignKeys the table's own foreign keys; expand.ColumnFacts its extended
     * statistics): views, rules, policies, triggers with a column list, NOT VALID CHECKs. Not its default,
     * not a NOT NULL.
     * Catalog only.
     */
    static final String COLUMN_DEPENDENTS = """
            SELECT pg_describe_object(d.classid, d.objid, d.objsubid)
              FROM pg_depend d
              JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
             WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = ? AND a.attname = ?
               AND d.deptype IN ('n', 'a') AND d.classid <> 'pg_attrdef'::regclass
               AND d.classid <> 'pg_statistic_ext'::regclass -- contract rebuilds them on the new column (expand.ColumnFacts)
               AND NOT (d.classid = 'pg_constraint'::regclass
                        AND EXISTS (SELECT 1 FROM pg_constraint c WHERE c.oid = d.objid
                                     AND (c.contype IN ('n', 'p', 'u') OR c.contype = 'c' AND c.convalidated)))
               AND NOT (d.classid = 'pg_class'::regclass
                        AND EXISTS (SELECT 1 FROM pg_class k WHERE k.oid = d.objid AND k.relkind IN ('I', 'S'))
                        AND NOT EXISTS (SELECT 1 FROM pg_constraint x WHERE x.conindid = d.objid AND x.contype = 'x'))
               AND NOT (d.classid = 'pg_constraint'::regclass -- the table's own foreign keys: expand.ForeignKeys rebuilds them
                        AND EXISTS (SELECT 1 FROM pg_constraint c WHERE c.oid = d.objid AND c.contype = 'f' AND c.conrelid = d.refobjid))
            """;

    /**
     * The table's foreign keys whose ON DELETE SET NULL / SET DEFAULT column list (PostgreSQL 15+) names the column:
     * expand.ForeignKeys rebuilds a key on the shadow column from its key columns only, and the server refuses the
     * list naming a column outside the key. Catalog only.
     */
    static final String FOREIGN_KEYS_SETTING_COLUMN = """
            SELECT c.conname::text FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.confdelsetcols)
             WHERE c.conrelid = ? AND a.attname = ? AND c.contype = 'f'
             ORDER BY 1
            """;

    /**
     * Partitions whose column has a NOT NULL the table's lacks, or another default: contract restores the table's on the
     * new column, so theirs would be lost, where the blocking ALTER keeps them. Catalog only.
     */
    static final String PARTITIONS_OWN_NOT_NULL_OR_DEFAULT = """
            SELECT c.oid::regclass::text
              FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
              JOIN pg_attribute pa ON pa.attrelid = i.inhparent AND pa.attname = ?
              JOIN pg_attribute ca ON ca.attrelid = c.oid AND ca.attname = pa.attname
              LEFT JOIN pg_attrdef pd ON pd.adrelid = pa.attrelid AND pd.adnum = pa.attnum
              LEFT JOIN pg_attrdef cd ON cd.adrelid = ca.attrelid AND cd.adnum = ca.attnum
             WHERE i.inhparent = ?
               AND (ca.attnotnull AND NOT pa.attnotnull
                    OR pg_get_expr(cd.adbin, cd.adrelid) IS DISTINCT FROM pg_get_expr(pd.adbin, pd.adrelid))
             ORDER BY 1
            """;

    /**
     * The table's DEFERRABLE primary and unique keys on the column: ColumnObjects rebuilds a key on the new column from
     * a plain unique index (prebuilt on each partition, attached at contract), NOT DEFERRABLE, so a statement that
     * relies on deferring it would fail, during the job on each partition swapped in and for good after contract.
     * Catalog only.
     */
    static final String DEFERRABLE_KEYS_ON_COLUMN = """
            SELECT c.conname::text FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
             WHERE c.conrelid = ? AND a.attname = ? AND c.contype IN ('p', 'u') AND c.condeferrable
             ORDER BY 1
            """;

    /**
     * Extended statistics that use the column (on the table or any partition) which contract could not drop and
     * create again as pgrewrite's role: DROP STATISTICS needs their owner's rights, CREATE STATISTICS the
     * schema's CREATE. Catalog only.
     */
    static final String STATISTICS_NOT_OURS = """
            SELECT DISTINCT quote_ident(n.nspname) || '.' || quote_ident(s.stxname) || ' (owner ' || pg_get_userbyid(s.stxowner) || ')'
              FROM pg_statistic_ext s JOIN pg_namespace n ON n.oid = s.stxnamespace
             WHERE s.oid IN (SELECT d.objid FROM pg_depend d
                               JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                              WHERE d.classid = 'pg_statistic_ext'::regclass AND d.refclassid = 'pg_class'::regclass
                                AND a.attname = ? AND d.refobjid IN (SELECT relid FROM pg_partition_tree(?::regclass)))
               AND NOT (pg_has_role(s.stxowner, 'USAGE') AND has_schema_privilege(s.stxnamespace, 'CREATE'))
             ORDER BY 1
            """;

    /**
     * Publications whose column list names the column for one of the table's partitions (PostgreSQL 15+):
     * contract's DROP COLUMN fails on them (the list depends on the column), after the whole rewrite, where
     * the blocking ALTER keeps them. The parent's own membership is COLUMN_DEPENDENTS'. Catalog only.
     */
    static final String PUBLISHED_ON_PARTITIONS = """
            SELECT DISTINCT 'publication ' || p.pubname || ' (' || r.prrelid::regclass::text || ')'
              FROM pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid
              JOIN pg_attribute a ON a.attrelid = r.prrelid AND a.attnum = ANY (r.prattrs)
             WHERE a.attname = ? AND r.prrelid IN (SELECT relid FROM pg_partition_tree(?::regclass) WHERE relid <> ?::regclass)
             ORDER BY 1
            """;

    /**
     * Indexes and CHECKs a partition has of its own (not attached to or inherited from the parent's) on the
     * column: contract's DROP COLUMN would drop them, and ColumnObjects rebuilds only the parent's. Foreign
     * keys are PARTITION_KEYS_ON_COLUMN's. Catalog only.
     */
    static final String PARTITION_OBJECTS_ON_COLUMN = """
            SELECT DISTINCT pg_describe_object(d.classid, d.objid, 0)
              FROM pg_depend d
              JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
             WHERE d.refclassid = 'pg_class'::regclass AND a.attname = ?
               AND d.refobjid IN (SELECT relid FROM pg_partition_tree(?::regclass) WHERE relid <> ?::regclass)
               AND d.deptype IN ('n', 'a') AND d.classid IN ('pg_class'::regclass, 'pg_constraint'::regclass)
               AND NOT (d.classid = 'pg_class'::regclass AND EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = d.objid))
               AND NOT (d.classid = 'pg_class'::regclass AND EXISTS (SELECT 1 FROM pg_class k WHERE k.oid = d.objid AND k.relkind = 'S'))
               AND NOT (d.classid = 'pg_constraint'::regclass AND EXISTS (SELECT 1 FROM pg_constraint c WHERE c.oid = d.objid
                          AND (c.contype IN ('n', 'f') OR c.conparentid <> 0 OR c.coninhcount > 0)))
             ORDER BY 1
            """;

    /** Foreign keys a partition has of its own (not from the parent) on the column: DROP COLUMN would drop them. */
    static final String PARTITION_KEYS_ON_COLUMN = """
            SELECT c.conname || ' on ' || c.conrelid::regclass::text FROM pg_constraint c
              JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
             WHERE c.contype = 'f' AND c.conparentid = 0 AND a.attname = ?
               AND c.conrelid IN (SELECT relid FROM pg_partition_tree(?::regclass) WHERE relid <> ?::regclass)
             ORDER BY 1
            """;

    /**
     * Foreign keys that reference the table or one of its partitions (the swap cannot be done online with
     * them: see {@link #REFERENCED_BY_REASON}) and exclusion constraints (not carried over to the copy yet).
     * Foreign keys from the table to others are carried (swap.ForeignKeyCopy) and not listed.
     */
    static final String FOREIGN_KEYS = """
            SELECT CASE contype WHEN 'f' THEN 'foreign key ' || conname || ' on ' || conrelid::regclass::text
                                          || ' references ' || confrelid::regclass::text
                                ELSE 'exclusion constraint ' || conname || ' on ' || conrelid::regclass::text END
              FROM pg_constraint
             WHERE (contype = 'f' AND confrelid IN (SELECT relid FROM pg_partition_tree(?::regclass))
                    OR contype = 'x' AND conrelid = ?) AND conparentid = 0
             ORDER BY 1
            """;

    /** Why a foreign key referencing the table refuses the job (proven on PostgreSQL 14 and 18). */
    static final String REFERENCED_BY_REASON = "the swap DETACHes each partition, and DETACH of a referenced partition"
            + " takes ACCESS EXCLUSIVE on the referencing table and scans it, under the parent's ACCESS EXCLUSIVE lock, for rows"
            + " that reference the partition — and refuses when there is one (every referenced row is in some partition);"
            + " ATTACH of the copy would clone the key's action triggers onto it. Nothing of that can be done online."
            + " Drop the referencing foreign key for the job and add it back after (NOT VALID, then VALIDATE CONSTRAINT,"
            + " which does not block writes), or use a plain ALTER TABLE in a maintenance window.";

    /** Working copies or kept old partitions left by another job (or a run given up). */
    static final String LEFTOVERS = """
            SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = ? AND c.relname = ANY (?::text[])
            """;

    private final JdbcTemplate jdbc;
    private final Catalog catalog;

    public Planner(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
        this.catalog = new Catalog(jdbc);
    }

    public Catalog catalog() {
        return catalog;
    }

    /** Plans the job or throws {@link PlanException} naming every failed precondition. */
    public Plan plan(JobDefinition def) {
        List<Plan.Check> checks = new ArrayList<>();
        int version = jdbc.queryForObject(SERVER_VERSION, Integer.class);
        checks.add(versionCheck(version));
        String where = def.file() == null ? "the job definition" : def.file().toString();
        Table table = catalog.find(def.schema(), def.table()).orElseThrow(() -> new PlanException(
                "Table not found: " + shown(def.schema(), def.table()) + ". Check 'table:' (and 'schema:') in " + where
                        + " (names are case-sensitive and used exactly as written; a part with a '.' or a space goes in"
                        + " double quotes: \"Archief 2024\".\"Passage-Log\").", null));
        checks.add(new Plan.Check("table exists", true, table.schema() + "." + table.name()));

        checks.add(partitioningCheck(table));
        if (table.relkind() == 'p' && table.strategy() == 'r') {
            checks.add(table.defaultPartition() == null
                    ? new Plan.Check("no DEFAULT partition", true, "none")
                    : new Plan.Check("no DEFAULT partition", false, "DEFAULT partition " + table.defaultPartition()
                            + " is attached: attaching a rewritten partition would have to scan it under lock."
                            + " Move its rows into proper partitions and detach it, then plan again."));
            List<String> pending = catalog.pendingDetach(table.oid());
            String parent = io.pgrewrite.pg.Identifiers.qualified(table.schema(), table.name());
            checks.add(pending.isEmpty() ? new Plan.Check("no partition pending detach", true, "none")
                    : new Plan.Check("no partition pending detach", false, "partition " + String.join(", ", pending) + " of "
                            + parent + " is pending detach (a DETACH PARTITION … CONCURRENTLY in progress, or interrupted): it is"
                            + " leaving the table, and no ALTER TABLE can change it meanwhile. Let the detach finish, or finish it"
                            + " with ALTER TABLE " + parent
                            + " DETACH PARTITION " + pending.get(0) + " FINALIZE, then plan again."));
            List<String> twice = table.partitions().stream()
                    .collect(java.util.stream.Collectors.groupingBy(Partition::name, java.util.TreeMap::new, java.util.stream.Collectors.counting()))
                    .entrySet().stream().filter(e -> e.getValue() > 1).map(java.util.Map.Entry::getKey).toList();
            checks.add(new Plan.Check("partition names unique", twice.isEmpty(), twice.isEmpty() ? "yes" : "partitions named " + twice
                    + " of " + parent + " are in more than one schema: the job records its partitions by name. Rename one of"
                    + " each (ALTER TABLE … RENAME TO …), then plan again."));
            List<String> sub = catalog.subPartitioned(table.oid());
            checks.add(new Plan.Check("no sub-partitions", sub.isEmpty(),
                    sub.isEmpty() ? "none" : "sub-partitioned partitions are not supported: " + sub));
        }
        checks.add(table.keyColumns().isEmpty()
                ? new Plan.Check("primary or unique NOT NULL key", false, "none on " + table.name()
                        + ": copy ranges and change replay need one. Add a primary key, then plan again.")
                : new Plan.Check("primary or unique NOT NULL key", true, table.keySource() + " " + table.keyColumns()));

        List<Partition> selected = select(def, table, checks);
        shapeChecks(def, table, checks);
        leftoverCheck(selected, checks);
        columnChecks(def, table, version, checks);
        expressionChecks(def, table, checks);
        checks.addAll(TriggerSafety.checks(jdbc, def, table)); // search_path of the SECURITY DEFINER sync trigger, trigger order
        throttleQueryCheck(def, checks);
        ThrottlePrivileges.check(jdbc, def, checks);
        lockSlotCheck(def, table, checks);
        checks.add(ConnectionBudget.check(jdbc, def.workers()));
        diskCheck(def, selected, checks);
        checks.addAll(CarryOverCheck.checks(jdbc, def, table, selected));
        checks.addAll(DependentsCheck.checks(jdbc, def, table, selected)); // what refers to the partitions or stores the row type

        long largest = selected.stream().mapToLong(Partition::totalBytes).max().orElse(0);
        long peak = largest * Math.min(def.workers(), Math.max(1, selected.size()));
        Plan plan = new Plan(def, table, selected, List.copyOf(checks), peak);
        List<String> failed = checks.stream().filter(c -> !c.ok()).map(c -> c.name() + ": " + c.detail()).toList();
        if (!failed.isEmpty()) {
            throw new PlanException(table.schema() + "." + table.name() + ": " + String.join("\n", failed)
                    + "\nNothing was changed.", plan);
        }
        return plan;
    }

    /**
     * The server's proof of the definition's expressions alone, against the table as it is now: for a
     * restart whose 'using:' or 'set:' changed. Throws {@link PlanException} naming the key and the reason.
     */
    public void proveExpressions(JobDefinition def) {
        Table table = catalog.find(def.schema(), def.table()).orElseThrow(() -> new PlanException(
                "Table not found: " + shown(def.schema(), def.table()), null));
        List<Plan.Check> checks = new ArrayList<>();
        expressionChecks(def, table, checks);
        throttleQueryCheck(def, checks);
        List<String> failed = checks.stream().filter(c -> !c.ok()).map(c -> c.name() + ": " + c.detail()).toList();
        if (!failed.isEmpty()) {
            throw new PlanException(shown(table.schema(), table.name()) + ": " + String.join("\n", failed)
                    + "\nNothing was changed.", null);
        }
    }

    /** {@code schema.table} as the operator would write it in 'table:', each part quoted only where it must be. */
    static String shown(String schema, String table) {
        return shownPart(schema) + "." + shownPart(table);
    }

    private static String shownPart(String name) {
        return name.matches("[a-z_][a-z0-9_$]*") ? name : Identifiers.quote(name);
    }

    /** The partitions a run rewrites, in order, without the preconditions: for the Partitioner, after expand. */
    public List<Partition> selectedPartitions(JobDefinition def) {
        Table table = catalog.find(def.schema(), def.table()).orElseThrow(() -> new PlanException(
                "Table not found: " + shown(def.schema(), def.table()), null));
        return select(def, table, new ArrayList<>());
    }

    /** Things the rewrite cannot carry over yet: refused before anything changes. */
    private void shapeChecks(JobDefinition def, Table table, List<Plan.Check> checks) {
        if (def.operation().changesShape() && (def.partitionsFrom() != null || def.partitionsTo() != null)) {
            checks.add(new Plan.Check("all partitions for a column change", false, def.operation().yamlName()
                    + " changes the column in every partition at contract: all of them must be rewritten."
                    + " Remove 'partitions.from' / 'partitions.to'."));
        }
        List<String> generated = table.columns().stream().filter(Table.Column::generated).map(Table.Column::name).toList();
        checks.add(new Plan.Check("no generated columns", generated.isEmpty(), generated.isEmpty() ? "none"
                : "generated column(s) " + generated + " are not supported yet; use a plain ALTER TABLE"));
        if (table.relkind() == 'p') {
            List<String> fks = jdbc.queryForList(FOREIGN_KEYS, String.class, table.oid(), table.oid());
            List<String> referencing = fks.stream().filter(f -> f.startsWith("foreign key")).toList();
            List<String> exclusion = fks.stream().filter(f -> !f.startsWith("foreign key")).toList();
            checks.add(new Plan.Check("no foreign keys referencing the table", referencing.isEmpty(), referencing.isEmpty()
                    ? "none (foreign keys from it to other tables are carried: built on each copy and validated before its swap)"
                    : String.join(", ", referencing) + ": " + REFERENCED_BY_REASON));
            checks.add(new Plan.Check("no exclusion constraints", exclusion.isEmpty(), exclusion.isEmpty() ? "none"
                    : String.join(", ", exclusion) + ": exclusion constraints are not carried over to the copy yet."));
            if (def.operation() == Operation.ALTER_COLUMN_TYPE && def.column() != null) {
                List<String> own = jdbc.queryForList(PARTITION_KEYS_ON_COLUMN, String.class, def.column(), table.oid(), table.oid());
                if (!own.isEmpty()) {
                    checks.add(new Plan.Check("no partition's own foreign key on " + def.column(), false, String.join(", ", own)
                            + ": a foreign key a partition has of its own (not the parent's) on the retyped column is not rebuilt"
                            + " yet. Add it to the parent instead (pgrewrite rebuilds the parent's), or drop it for the job."));
                }
            }
        }
    }

    private void leftoverCheck(List<Partition> selected, List<Plan.Check> checks) {
        if (selected.isEmpty()) {
            return;
        }
        List<String> names = new ArrayList<>();
        for (Partition p : selected) {
            names.add(new PartitionNames(p.schema(), p.name(), p.schema(), p.name()).rw());
            names.add(p.name() + "__old");
        }
        List<String> found = jdbc.queryForList(LEFTOVERS, String.class, selected.get(0).schema(), names.toArray(String[]::new));
        checks.add(new Plan.Check("no leftovers of another run", found.isEmpty(), found.isEmpty() ? "none"
                : found + " exist: a working copy or a kept old partition of another job. Finish or restart that job,"
                        + " or drop them if they are not needed, then plan again."));
    }

    static Plan.Check versionCheck(int versionNum) {
        String v = (versionNum / 10000) + "." + (versionNum % 10000);
        return versionNum >= MIN_SERVER_VERSION
                ? new Plan.Check("PostgreSQL 14 or newer", true, v)
                : new Plan.Check("PostgreSQL 14 or newer", false, "server is " + v
                        + "; pgrewrite needs 14 or newer. Upgrade the server, or use a plain ALTER TABLE in a maintenance window.");
    }

    private static Plan.Check partitioningCheck(Table t) {
        if (t.relkind() != 'p') {
            return new Plan.Check("range-partitioned", false, t.name() + " is not partitioned;"
                    + " pgrewrite rewrites partitioned tables one partition at a time. For a plain table use pg_repack or ALTER TABLE.");
        }
        if (t.strategy() != 'r') {
            String by = t.strategy() == 'h' ? "hash" : t.strategy() == 'l' ? "list" : String.valueOf(t.strategy());
            return new Plan.Check("range-partitioned", false, t.name() + " is partitioned by " + by
                    + "; pgrewrite needs range partitioning (by day).");
        }
        return new Plan.Check("range-partitioned", true, "by " + t.partitionKey());
    }

    private static List<Partition> select(JobDefinition def, Table table, List<Plan.Check> checks) {
        List<Partition> selected = new ArrayList<>();
        boolean undated = false;
        for (Partition p : table.partitions()) {
            if (def.partitionsFrom() == null && def.partitionsTo() == null) {
                selected.add(p);
                continue;
            }
            if (p.startDay() == null) {
                undated = true;
                continue;
            }
            if ((def.partitionsFrom() == null || !p.startDay().isBefore(def.partitionsFrom()))
                    && (def.partitionsTo() == null || p.startDay().isBefore(def.partitionsTo()))) {
                selected.add(p);
            }
        }
        if (undated) {
            checks.add(new Plan.Check("partitions.from/to", false, "some partitions have no date lower bound;"
                    + " remove partitions.from/to or partition by a date or timestamp"));
        }
        // The swap renames P to P__old (P__rw has a hashed name when P's is too long): PostgreSQL would cut a longer
        // name short, and retire would look for the old partition under the full one.
        List<String> tooLong = selected.stream().map(Partition::name).filter(n -> !Identifiers.fits(n + "__old")).toList();
        if (!tooLong.isEmpty()) {
            checks.add(new Plan.Check("partition names", false, "partitions " + tooLong + " have more than 58 bytes: the swap"
                    + " renames each to <name>__old, and PostgreSQL names have at most 63 bytes (it would cut the name short)."
                    + " Rename them to at most 58 bytes (ALTER TABLE … RENAME TO …), then plan again."));
        }
        checks.add(new Plan.Check("partitions to rewrite", !selected.isEmpty(), selected.isEmpty()
                ? "none match partitions.from/to" : selected.size() + " of " + table.partitions().size()));
        return selected;
    }

    private void columnChecks(JobDefinition def, Table table, int version, List<Plan.Check> checks) {
        Operation op = def.operation();
        if (op == Operation.COMPACT) {
            return;
        }
        if (op == Operation.BACKFILL) {
            for (String col : def.set().keySet()) {
                checks.add(existingColumn(table, col, "set." + col));
            }
            return;
        }
        String col = def.column();
        if (op == Operation.ADD_COLUMN) {
            boolean exists = table.column(col).isPresent();
            checks.add(new Plan.Check("column " + col + " does not exist yet", !exists, exists
                    ? table.name() + " already has a column " + col + ": choose another 'column:' name" : "ok"));
        } else {
            checks.add(op == Operation.ALTER_COLUMN_TYPE ? retypedColumn(table, col) : existingColumn(table, col, "column"));
        }
        if (op == Operation.ALTER_COLUMN_TYPE || op == Operation.ADD_COLUMN) {
            boolean typeOk = typeExists(def.type());
            checks.add(new Plan.Check("type " + def.type() + " exists", typeOk,
                    typeOk ? "ok" : "PostgreSQL does not read it as one type name it knows; fix 'type:'"));
            String shadow = Projection.shadowColumn(col);
            if (op == Operation.ALTER_COLUMN_TYPE && !Identifiers.fits(shadow)) {
                // PostgreSQL would cut the shadow's name to 63 bytes without a word: expand would add (or, with
                // IF NOT EXISTS, find) a column of another name than the one contract and the sync trigger use.
                checks.add(new Plan.Check("shadow column name fits", false, "column " + col + " of " + table.name() + " has "
                        + bytes(col) + " bytes: while the job runs its new values go into a column " + col
                        + Projection.SHADOW_SUFFIX + " (" + bytes(shadow) + " bytes), and PostgreSQL names have at most 63"
                        + " bytes (it would cut the name short). Rename the column to at most "
                        + (63 - bytes(Projection.SHADOW_SUFFIX)) + " bytes first (ALTER TABLE … RENAME COLUMN … TO …),"
                        + " or use a plain ALTER TABLE."));
            } else if (op == Operation.ALTER_COLUMN_TYPE && table.column(shadow).isPresent()) {
                checks.add(new Plan.Check("shadow column free", false, "column " + shadow + " exists: the job adds a column of"
                        + " that name for " + col + "'s new values. If a run of this job is in progress, continue it with"
                        + " `pgrewrite restart`; if the column is not pgrewrite's, rename it (ALTER TABLE … RENAME COLUMN … TO …),"
                        + " then plan again."));
            }
            if (op == Operation.ALTER_COLUMN_TYPE && table.column(col).isPresent()) {
                List<String> users = jdbc.queryForList(COLUMN_DEPENDENTS, String.class, table.oid(), col);
                checks.add(new Plan.Check("nothing else uses column " + col, users.isEmpty(), users.isEmpty()
                        ? "ok (its indexes, keys, CHECKs, sequence and extended statistics are rebuilt on the new column)"
                        : users + " use " + col + ". pgrewrite rebuilds the column's indexes, unique and primary keys,"
                                + " valid CHECKs, its sequence and extended statistics on the new column, not these: a view, rule,"
                                + " policy or trigger column list names the column and would have to be dropped and"
                                + " recreated in contract's transaction (they hold no data, but pgrewrite does not rewrite"
                                + " their definitions); a NOT VALID CHECK must be"
                                + " validated (ALTER TABLE … VALIDATE CONSTRAINT, online) or dropped first."
                                + " Drop them first (and recreate them after), or use a plain ALTER TABLE."));
                List<String> own = jdbc.queryForList(PARTITIONS_OWN_NOT_NULL_OR_DEFAULT, String.class, col, table.oid());
                checks.add(new Plan.Check("no partition's own NOT NULL or default on column " + col, own.isEmpty(), own.isEmpty()
                        ? "none" : "partitions " + own + " have a NOT NULL or a default on " + col + " other than "
                                + table.name() + "'s: contract gives the new column " + table.name() + "'s, so theirs would"
                                + " be lost. Set them on " + table.name() + " (ALTER TABLE … ALTER COLUMN … SET NOT NULL / SET"
                                + " DEFAULT) or drop them from the partitions first, or use a plain ALTER TABLE."));
                if (version >= 150000) { // ON DELETE SET NULL (columns) came with PostgreSQL 15
                    List<String> setting = jdbc.queryForList(FOREIGN_KEYS_SETTING_COLUMN, String.class, table.oid(), col);
                    checks.add(new Plan.Check("no foreign key's ON DELETE SET list names column " + col, setting.isEmpty(),
                            setting.isEmpty() ? "none" : "foreign keys " + setting + " set " + col + " ON DELETE (SET NULL /"
                                    + " SET DEFAULT (" + col + ")): pgrewrite rebuilds a key on the new column from its key"
                                    + " columns only. Drop the column list from the key's ON DELETE first (drop and add the key"
                                    + " again), or use a plain ALTER TABLE."));
                }
                List<String> deferrable = jdbc.queryForList(DEFERRABLE_KEYS_ON_COLUMN, String.class, table.oid(), col);
                checks.add(new Plan.Check("no DEFERRABLE key on column " + col, deferrable.isEmpty(), deferrable.isEmpty() ? "none"
                        : "keys " + deferrable + " of " + table.name() + " are DEFERRABLE: pgrewrite rebuilds a key on the new"
                                + " column NOT DEFERRABLE (from a unique index on each partition), so a statement that relies on"
                                + " deferring it would fail, on each partition once it is swapped in and for good after the job."
                                + " Use a plain ALTER TABLE, or drop the key and add it again NOT DEFERRABLE first."));
                List<String> local = jdbc.queryForList(PARTITION_OBJECTS_ON_COLUMN, String.class, col, table.oid(), table.oid());
                checks.add(new Plan.Check("no partition's own index or CHECK on column " + col, local.isEmpty(), local.isEmpty() ? "none"
                        : local + " belong to single partitions, not to " + table.name() + ": contract's DROP COLUMN would drop"
                                + " them and pgrewrite rebuilds only the table's own. Declare them on " + table.name()
                                + " (CREATE INDEX … ON ONLY, then ATTACH each partition's), or drop them first."));
                List<String> notOurs = jdbc.queryForList(STATISTICS_NOT_OURS, String.class, col, table.oid());
                checks.add(new Plan.Check("extended statistics on column " + col + " rebuildable", notOurs.isEmpty(), notOurs.isEmpty()
                        ? "ok" : "statistics objects " + notOurs + " use " + col + ": contract drops and creates them again on the"
                                + " new column, which needs their owner's rights and CREATE on their schema. Make pgrewrite's role"
                                + " their owner (ALTER STATISTICS … OWNER TO …) or grant CREATE on the schema, or drop them first."));
                if (version >= 150000) { // publication column lists came with PostgreSQL 15
                    List<String> published = jdbc.queryForList(PUBLISHED_ON_PARTITIONS, String.class, col, table.oid(), table.oid());
                    checks.add(new Plan.Check("no publication column list names column " + col + " on a partition", published.isEmpty(),
                            published.isEmpty() ? "none" : published + " publish " + col + " in a column list: contract's DROP COLUMN"
                                    + " of the old column would fail on them at the end of the job. Take " + col + " out of those"
                                    + " lists first (ALTER PUBLICATION … SET TABLE … (columns)) and put it back after the job, or"
                                    + " use a plain ALTER TABLE."));
                }
            }
            if (op == Operation.ALTER_COLUMN_TYPE && typeOk && table.column(col).isPresent()) {
                String target = jdbc.queryForObject(NORMALIZE_TYPE, String.class, def.type());
                String current = table.column(col).get().type();
                boolean same = current.equals(target) || current.equals(def.type());
                checks.add(same ? Plan.Check.alreadyDone("column " + col + " not already " + def.type(),
                        col + " is already of type " + current + ": nothing to do")
                        : new Plan.Check("column " + col + " not already " + def.type(), true, current + " -> " + def.type()));
            }
        }
    }

    /** A name's length as PostgreSQL counts it against its 63 (NAMEDATALEN - 1): in bytes. */
    private static int bytes(String name) {
        return name.getBytes(StandardCharsets.UTF_8).length;
    }

    private boolean typeExists(String type) {
        try {
            return Boolean.TRUE.equals(jdbc.queryForObject(TYPE_EXISTS, Boolean.class, type));
        } catch (DataAccessException e) {
            return false; // before PostgreSQL 16, a text that is no type name is an error rather than NULL
        }
    }

    /**
     * alter-column-type may change a column of the row key (int → bigint ids): the job copies and replays
     * by the old column, and contract moves the key to the new one (ColumnObjects). Not the partition key:
     * a partition's bound is on it, and every partition would need a new bound.
     */
    private static Plan.Check retypedColumn(Table table, String col) {
        if (table.column(col).isEmpty() || !table.keyColumns().contains(col) || table.partitionKey().contains(col)) {
            return existingColumn(table, col, "column");
        }
        return new Plan.Check("column " + col + " exists", true, table.column(col).get().type()
                + " (in the row key " + table.keyColumns() + ": copied and replayed by the old column, the key moves to the new one at contract)");
    }

    private static Plan.Check existingColumn(Table table, String col, String key) {
        if (table.column(col).isEmpty()) {
            return new Plan.Check("column " + col + " exists", false, table.name() + " has no column " + col
                    + "; fix '" + key + ":' (column names are case-sensitive)");
        }
        if (table.partitionKey().contains(col) || table.keyColumns().contains(col)) {
            return new Plan.Check("column " + col + " is not a key column", false, col
                    + " is part of the partition key or the row key " + table.keyColumns() + "; pgrewrite cannot change it"
                    + (table.partitionKey().contains(col) ? " (every partition's bound is on the partition key: use a"
                            + " plain ALTER TABLE, or a new table)" : " with " + key + ": (alter-column-type can)"));
        }
        return new Plan.Check("column " + col + " exists", true, table.column(col).get().type());
    }

    /**
     * Ask the database: each expression, in the statement it is placed in, parsed and type-checked by
     * PostgreSQL and proven to be one command ({@link OneExpression}); nothing is evaluated. Runs only once
     * every column and 'type:' check passed, so the type in the CAST is one PostgreSQL already parsed as
     * exactly one type name ({@link #TYPE_EXISTS}, the text bound).
     */
    private void expressionChecks(JobDefinition def, Table table, List<Plan.Check> checks) {
        boolean columnsOk = checks.stream().filter(c -> c.name().startsWith("column") || c.name().startsWith("type"))
                .allMatch(Plan.Check::ok);
        if (!columnsOk) {
            return;
        }
        for (Map.Entry<String, String> e : Projection.computedColumns(def, table).entrySet()) {
            String key = def.operation() == Operation.BACKFILL ? "set." + e.getKey() : "using";
            String problem = OneExpression.problem(jdbc, OneExpression.probe(e.getValue(), table.qualified()));
            if (problem == null) {
                problem = OneExpression.problem(jdbc, OneExpression.rowProbe(e.getValue(), table.qualified()));
            }
            checks.add(problem == null
                    ? new Plan.Check(key + " type-checks", true, e.getValue())
                    : new Plan.Check(key + " type-checks", false, "`" + e.getValue() + "` does not type-check against "
                            + table.name() + " as one expression: " + problem + ". Fix '" + key + ":' in "
                            + (def.file() == null ? "the definition" : def.file().toString()) + "."));
        }
    }

    /** How 'throttle.query' runs (ThrottleSampler), the query on lines of its own so a -- comment ends there. */
    public static final String THROTTLE_QUERY = "SELECT (\n%s\n)::float8";

    /** 'throttle.query' is proven one command by the server in exactly the text that will run, as the expressions. */
    private void throttleQueryCheck(JobDefinition def, List<Plan.Check> checks) {
        String query = def.throttle() == null ? null : def.throttle().query();
        if (query == null) {
            return;
        }
        String problem = OneExpression.problem(jdbc, String.format(THROTTLE_QUERY, query));
        checks.add(problem == null ? new Plan.Check("throttle.query is one query", true, query)
                : new Plan.Check("throttle.query is one query", false, "`" + query + "` is not one query PostgreSQL can run"
                        + " as SELECT (<query>): " + problem + ". Fix 'throttle.query:' in "
                        + (def.file() == null ? "the definition" : def.file().toString()) + "."));
    }

    private void lockSlotCheck(JobDefinition def, Table table, List<Plan.Check> checks) {
        if (def.operation() == Operation.COMPACT || def.operation() == Operation.BACKFILL) {
            return;
        }
        long perTransaction = jdbc.queryForObject("SELECT current_setting('max_locks_per_transaction')::int", Long.class);
        long slots = jdbc.queryForObject(LOCK_SLOTS, Long.class);
        long backends = Math.max(1, slots / perTransaction);
        // ALTER TABLE on the parent locks every partition with its indexes and toast table; leave the
        // other half of the shared lock table to the application.
        long needed = (table.partitions().size() + 1) * 4L;
        boolean ok = needed * 2 <= slots;
        long advice = (needed * 2 + backends - 1) / backends;
        checks.add(new Plan.Check("lock slots for ALTER on the parent", ok, ok
                ? "needs about " + needed + " of " + slots
                : "expand/contract lock all " + table.partitions().size() + " partitions: about " + needed
                        + " lock slots, but the server has " + slots + " in all (max_locks_per_transaction " + perTransaction
                        + " x " + backends + " connections) and the application needs its share."
                        + " Raise max_locks_per_transaction to at least " + advice + " and restart PostgreSQL."));
    }

    private void diskCheck(JobDefinition def, List<Partition> selected, List<Plan.Check> checks) {
        Long budget = def.disk().maxExtraBytes();
        if (budget == null) {
            checks.add(new Plan.Check("disk budget", true, "no disk.max-extra set: no limit"));
            return;
        }
        // The same estimate a partition reserves before its copy (DiskEstimate): size, wider copy, change log.
        Partition largest = null;
        long need = 0;
        for (Partition p : selected) {
            long b = DiskEstimate.bytes(jdbc, def, p);
            if (largest == null || b > need) {
                largest = p;
                need = b;
            }
        }
        if (largest != null && need > budget) {
            checks.add(new Plan.Check("disk budget", false, "disk.max-extra " + Bytes.format(budget)
                    + " is smaller than the largest partition " + largest.name() + "'s reservation (" + Bytes.format(need)
                    + ": its size, a wider copy, its change log): its rewritten copy could never start. Raise disk.max-extra to at least "
                    + Bytes.format(need) + "."));
        } else {
            checks.add(new Plan.Check("disk budget", true, Bytes.format(budget) + " >= largest partition "
                    + (largest == null ? "-" : largest.name() + "'s reservation " + Bytes.format(need))));
        }
    }
}
