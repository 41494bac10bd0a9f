package dev.jllama.rank;

import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import org.junit.jupiter.api.Test;

class RankTaskTest {
    /** Like HDFS's output stream once its pipeline failed: close() throws the very exception write() threw. */
    private static final class FailedStream extends OutputStream {
        private final IOException failure = new IOException("All datanodes are bad. Aborting...");

        @Override
        public void write(int b) throws IOException {
            throw failure;
        }

        @Override
        public void close() throws IOException {
            throw failure;
        }
    }

    @Test
    void theFailureHiddenBySelfSuppressionIsTheOneReported() {
        FailedStream stream = new FailedStream();
        IllegalArgumentException hidden = assertThrows(IllegalArgumentException.class, () -> {
            try (OutputStream out = stream) {
                out.write(1);
            }
        });
        assertTrue(hidden.getMessage().contains("Self-suppression"), hidden.toString());
        assertSame(stream.failure, RankTask.unhidden(hidden));
        IOException plain = new IOException("other");
        assertSame(plain, RankTask.unhidden(plain));
        IllegalArgumentException badInput = new IllegalArgumentException("--lr must be positive");
        assertSame(badInput, RankTask.unhidden(badInput));
    }
}
