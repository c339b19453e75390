package io.pgrewrite.definition;

/**
 * A job definition that cannot be used: the file is missing or unreadable, is not YAML, or has
 * keys or values that are not allowed. The message names the file, the key (as a dotted path such
 * as {@code copy.chunk-rows}), the offending value and what is allowed; when a definition has
 * several problems, the message has one line per problem.
 */
public class DefinitionException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public DefinitionException(String message) {
        super(message);
    }
}
