package io.pgrewrite.expand;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * Contract rebuilds an index or CHECK on the new column from the definition the server printed for the old
 * one: only references to the column change, never a string, a qualified name, a function or a type.
 */
class ColumnTextTest {

    @Test
    void referencesToTheColumnBecomeTheQuotedNewNameAndNothingElseChanges() {
        assertThat(ColumnText.rename("USING btree (camera_id) WHERE (note <> 'camera_id'::text)", "camera_id", "camera_id__new"))
                .isEqualTo("USING btree (\"camera_id__new\") WHERE (note <> 'camera_id'::text)");
        assertThat(ColumnText.rename("CHECK ((camera_id > 0) AND (camera_id(x) IS NULL) AND (t.camera_id = 1))", "camera_id", "c2"))
                .isEqualTo("CHECK ((\"c2\" > 0) AND (camera_id(x) IS NULL) AND (t.camera_id = 1))");
        assertThat(ColumnText.rename("USING btree (\"Camera Id\", lower((\"Camera Id\")::text))", "Camera Id", "x\"y"))
                .isEqualTo("USING btree (\"x\"\"y\", lower((\"x\"\"y\")::text))");
    }

    @Test
    void aLiteralWithAnEscapedQuoteDoesNotEndEarly() {
        assertThat(ColumnText.rename("CHECK ((massa <> 'it''s massa'::text) OR (massa IS NULL))", "massa", "m"))
                .isEqualTo("CHECK ((\"m\" <> 'it''s massa'::text) OR (\"m\" IS NULL))");
        assertThat(ColumnText.rename("CHECK ((x)::massa IS NOT NULL)", "massa", "m")).as("a type name after ::")
                .isEqualTo("CHECK ((x)::massa IS NOT NULL)");
    }
}
