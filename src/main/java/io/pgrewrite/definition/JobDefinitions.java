package io.pgrewrite.definition;

import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.SequenceNode;

/**
 * Reads job definitions. Everything is checked here, before anything touches a database: every
 * problem in a file is reported at once, one line each, in a {@link DefinitionException}.
 *
 * <p>The YAML is composed into nodes and bound by hand rather than constructed into objects: no
 * class is ever instantiated from the file, and each value is read from its text as written, so
 * {@code 010} stays {@code 010} in an SQL expression and {@code 2024-02-30} is refused rather than
 * rolled over to March.
 */
public final class JobDefinitions {

    private JobDefinitions() {
    }

    /** Reads and checks the definition in {@code file}. */
    public static JobDefinition load(Path file) throws DefinitionException {
        if (Files.isDirectory(file)) {
            throw new DefinitionException(
                    file + ": is a directory; give a job definition file, e.g. jobs/passage-compact.yaml");
        }
        if (!Files.exists(file)) {
            throw new DefinitionException(file + ": file not found (looked for " + file.toAbsolutePath() + ")");
        }
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (CharacterCodingException e) {
            throw new DefinitionException(file + ": is not UTF-8 text; save it as UTF-8");
        } catch (AccessDeniedException e) {
            throw new DefinitionException(file + ": cannot be read: permission denied");
        } catch (IOException e) {
            throw new DefinitionException(file + ": cannot be read: " + e);
        }
        return parse(text, file);
    }

    /**
     * Checks the definition in {@code yaml}.
     *
     * @param fileForMessages the file it came from: named in messages and kept in {@link JobDefinition#file()};
     *     may be {@code null}
     */
    public static JobDefinition parse(String yaml, Path fileForMessages) throws DefinitionException {
        String source = fileForMessages == null ? "job definition" : fileForMessages.toString();
        Node root = compose(yaml == null ? "" : yaml, source);
        if (root == null) {
            throw new DefinitionException(
                    source + ": is empty; a job definition needs at least name, table and operation");
        }
        if (!(root instanceof MappingNode map)) {
            String what = root instanceof SequenceNode ? "a list" : "a single value";
            throw new DefinitionException(source + ": the top level is " + what
                    + "; give a map of keys, e.g. name: ..., table: ..., operation: ...");
        }
        return new Binder(new Problems(source)).bind(fileForMessages, map);
    }

    private static Node compose(String yaml, String source) {
        // Duplicate keys are reported by Section; the loader's own limits (aliases, nesting, size) stay.
        LoaderOptions options = new LoaderOptions();
        String text = yaml.startsWith("\uFEFF") ? yaml.substring(1) : yaml;
        try {
            return new Yaml(new SafeConstructor(options)).compose(new StringReader(text));
        } catch (MarkedYAMLException e) {
            Mark mark = e.getProblemMark();
            String problem = e.getContext() == null ? e.getProblem()
                    : e.getProblem() == null ? e.getContext() : e.getContext() + ", " + e.getProblem();
            String where = mark == null ? "" : " (line " + (mark.getLine() + 1) + ", column " + (mark.getColumn() + 1) + ")";
            throw new DefinitionException(source + ": is not valid YAML: " + problem + where);
        } catch (YAMLException e) {
            throw new DefinitionException(
                    source + ": is not valid YAML: " + Problems.shown(String.valueOf(e.getMessage())));
        }
    }
}
