package dev.jllama.data.prepare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jllama.data.SparkTestSession;
import dev.jllama.data.shard.Dataset;
import dev.jllama.data.shard.Manifest;
import dev.jllama.data.shard.WindowSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BundledCorpusTest {

    @TempDir
    Path cache;

    @Test
    void preparesTheShippedCorpusOnceAndReusesIt() throws Exception {
        SparkTestSession.get(); // reuse the test JVM's session, as the train command would
        long t0 = System.nanoTime();
        Path dir = BundledCorpus.prepare(cache, msg -> System.out.println("[bundled] " + msg));
        double seconds = (System.nanoTime() - t0) / 1e9;
        Dataset d = Dataset.open(dir.toString(), new Configuration());
        Manifest m = d.manifest();
        @SuppressWarnings("unchecked")
        Map<String, Object> stats = m.preparation();
        System.out.println("[bundled] " + new ObjectMapper().writeValueAsString(stats));
        System.out.printf("[bundled] %.2f MB/s over %.1f s including Spark job start-up%n",
                ((Number) stats.get("input_text_bytes")).doubleValue() / 1e6 / seconds, seconds);
        assertEquals(4096, d.vocabSize());
        assertEquals(90L, ((Number) stats.get("input_documents")).longValue(), "90 documents in the corpus");
        assertTrue(d.tokens("train") > 1_000_000, "about 2M tokens: " + d.tokens("train"));
        assertTrue(d.tokens("val") > 0);
        assertTrue(m.split("train").shards().size() >= 2, "1M-token shards");

        // Windows decode to English text from the corpus.
        try (WindowSource w = d.windows("train", 64, 0, 2, 0, null)) {
            int[] buf = new int[65];
            w.next(buf, 1);
            String text = d.tokenizer().decode(buf);
            assertTrue(text.chars().filter(Character::isLetter).count() > 100, text);
        }

        // Second call: already complete, nothing is rebuilt.
        long modified = Files.getLastModifiedTime(dir.resolve(Manifest.FILE_NAME)).toMillis();
        long t1 = System.nanoTime();
        assertEquals(dir, BundledCorpus.prepare(cache));
        assertTrue((System.nanoTime() - t1) / 1e9 < 5);
        assertEquals(modified, Files.getLastModifiedTime(dir.resolve(Manifest.FILE_NAME)).toMillis());
    }
}
