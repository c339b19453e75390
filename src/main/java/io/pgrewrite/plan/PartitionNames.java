package io.pgrewrite.plan;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

import io.pgrewrite.pg.Identifiers;

/**
 * The names of everything pgrewrite creates for one partition P. They are derived from P's name
 * alone, so that after a crash the catalog tells what exists: {@code P__rw} (the rewritten copy being
 * built), {@code P__old} (the original, swapped out, not yet dropped), and in schema {@code pgrewrite}
 * the change log and its trigger function.
 */
public record PartitionNames(String schema, String partition, String parentSchema, String parent) {

    public static final String TOOL_SCHEMA = "pgrewrite";
    public static final String CAPTURE_TRIGGER = "pgrewrite_capture";
    public static final String BOUND_CHECK = "pgrewrite_bound";

    public static PartitionNames of(Table table, Partition p) {
        return new PartitionNames(p.schema(), p.name(), table.schema(), table.name());
    }

    public String rw() {
        String name = partition + "__rw";
        return Identifiers.fits(name) ? name : "pgrw_" + hash() + "__rw";
    }

    public String old() {
        return partition + "__old";
    }

    public String qPartition() {
        return Identifiers.qualified(schema, partition);
    }

    public String qRw() {
        return Identifiers.qualified(schema, rw());
    }

    public String qOld() {
        return Identifiers.qualified(schema, old());
    }

    public String qParent() {
        return Identifiers.qualified(parentSchema, parent);
    }

    /** The change log of P: the keys of rows written while P is copied. */
    public String qLog() {
        return Identifiers.qualified(TOOL_SCHEMA, "log_" + hash());
    }

    public String qCaptureFunction() {
        return Identifiers.qualified(TOOL_SCHEMA, "capture_" + hash());
    }

    /** A short stable hash of the partition's qualified name: keeps derived names within 63 bytes. */
    public String hash() {
        try {
            byte[] d = MessageDigest.getInstance("MD5").digest((schema + "." + partition).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 6);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
