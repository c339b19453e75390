package io.pgrewrite.definition;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * One YAML map of a definition (the top level, {@code copy}, {@code set}, ...) with its dotted path.
 * Unknown and repeated keys are reported when it is read; values stay YAML nodes so that each key
 * reads the value's text exactly as written (no YAML 1.1 surprises such as {@code 010} becoming 8).
 */
final class Section {

    private final String path;
    private final Problems problems;
    private final Map<String, Node> entries = new LinkedHashMap<>();
    private final boolean readable;

    private Section(String path, Problems problems, boolean readable) {
        this.path = path;
        this.problems = problems;
        this.readable = readable;
    }

    /** Reads {@code map}; with {@code allowed == null} any key is accepted (e.g. column names under {@code set}). */
    static Section of(MappingNode map, String path, List<String> allowed, Problems problems) {
        Section section = new Section(path, problems, true);
        for (NodeTuple tuple : map.getValue()) {
            section.put(tuple, allowed);
        }
        return section;
    }

    private void put(NodeTuple tuple, List<String> allowed) {
        Node keyNode = tuple.getKeyNode();
        String under = path.isEmpty() ? "" : " under " + path;
        if (!(keyNode instanceof ScalarNode scalarKey)) {
            problems.add("a key" + under + " is " + kind(keyNode) + "; keys are plain names");
        } else if (Tag.MERGE.equals(scalarKey.getTag())) {
            problems.add("merge keys ('<<')" + under + " are not supported; write the keys out");
        } else if (allowed != null && !allowed.contains(scalarKey.getValue())) {
            problems.add("unknown key '" + path(scalarKey.getValue()) + "'; allowed keys" + under + ": "
                    + String.join(", ", allowed));
        } else if (entries.containsKey(scalarKey.getValue())) {
            problems.add("key '" + path(scalarKey.getValue()) + "' is given twice; keep one");
        } else {
            entries.put(scalarKey.getValue(), tuple.getValueNode());
        }
    }

    /** The dotted path of {@code key} in this section, as messages show it. */
    String path(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    String path() {
        return path;
    }

    /** The key is written, even without a value. */
    boolean contains(String key) {
        return entries.containsKey(key);
    }

    /** The key is written with a value other than YAML null. */
    boolean present(String key) {
        return entries.containsKey(key) && !isNull(entries.get(key));
    }

    /** The keys in the order written. */
    Iterable<String> keys() {
        return entries.keySet();
    }

    /**
     * The text of a single value, or {@code null} when the key is absent, has no value, or holds a
     * list or map (which is reported).
     */
    String text(String key) {
        Node node = entries.get(key);
        if (node == null || isNull(node)) {
            return null;
        }
        if (node instanceof ScalarNode scalar) {
            return scalar.getValue();
        }
        problems.add("'" + path(key) + "' is " + kind(node) + "; give a single value");
        return null;
    }

    /**
     * Like {@link #text} but keeps the words YAML reads as null ({@code null}, {@code NULL}): an SQL
     * expression is taken as written. Only {@code ~} and an empty value count as no value.
     */
    String expressionText(String key) {
        Node node = entries.get(key);
        if (node instanceof ScalarNode scalar && isNull(node)) {
            String value = scalar.getValue();
            return value.isEmpty() || value.equals("~") ? null : value;
        }
        return text(key);
    }

    /**
     * The map under {@code key}; an empty section when it is absent or has no value, and an empty,
     * unreadable one when it is not a map (which is reported, with {@code example}).
     */
    Section section(String key, List<String> allowed, String example) {
        Node node = entries.get(key);
        if (node instanceof MappingNode map) {
            return of(map, path(key), allowed, problems);
        }
        if (node == null || isNull(node)) {
            return new Section(path(key), problems, true);
        }
        String what = node instanceof ScalarNode scalar ? "'" + Problems.shown(scalar.getValue()) + "'" : kind(node);
        problems.add("'" + path(key) + "' is " + what + "; give a map, e.g. " + example);
        return new Section(path(key), problems, false);
    }

    /** False for a section that was not a map (already reported): its keys are not "missing". */
    boolean readable() {
        return readable;
    }

    boolean isEmpty() {
        return entries.isEmpty();
    }

    private static boolean isNull(Node node) {
        return node instanceof ScalarNode && Tag.NULL.equals(node.getTag());
    }

    private static String kind(Node node) {
        if (node instanceof SequenceNode) {
            return "a list";
        }
        return node instanceof MappingNode ? "a map" : "a value";
    }
}
