package dev.jllama.data.prepare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jllama.data.SparkTestSession;
import dev.jllama.data.shard.Dataset;
import dev.jllama.data.shard.Manifest;
import dev.jllama.data.shard.RankSlice;
import dev.jllama.data.shard.WindowSource;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
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
        try (WindowSource w = d.windows("train", 64, 0, new RankSlice(0, 2, 1), null)) {
            int[] buf = new int[65];
            w.next(buf, 1);
            String text = d.tokenizer().decode(buf);
            assertTrue(text.chars().filter(Character::isLetter).count() > 100, text);
        }

        // Second call: already complete, so no file of the dataset is rewritten and the corpus is not unpacked again.
        Map<Path, FileTime> before = modificationTimes(cache);
        List<String> logged = new ArrayList<>();
        assertEquals(dir, BundledCorpus.prepare(cache, logged::add));
        assertEquals(before, modificationTimes(cache));
        assertEquals(List.of(), logged, "no preparation job ran");
    }

    private static Map<Path, FileTime> modificationTimes(Path root) throws IOException {
        Map<Path, FileTime> times = new TreeMap<>();
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.toList()) times.put(p, Files.getLastModifiedTime(p));
        }
        return times;
    }
}
