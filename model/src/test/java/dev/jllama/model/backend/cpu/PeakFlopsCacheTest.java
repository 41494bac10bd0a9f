package dev.jllama.model.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jllama.model.backend.PeakFlops;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The measured CPU peak and its cache: measured once, read back, and safe when corrupt or written concurrently. */
class PeakFlopsCacheTest {
    @TempDir
    Path dir;

    @Test
    void keepsEntriesAndSurvivesCorruptFiles() throws Exception {
        Path file = dir.resolve("sub/peak-flops.json");
        PeakFlopsCache cache = new PeakFlopsCache(file);
        assertNull(cache.get("a"), "no file yet");
        cache.put("a", 1.5e11);
        cache.put("b", 2.5e11);
        assertEquals(1.5e11, cache.get("a"));
        assertEquals(2.5e11, new PeakFlopsCache(file).get("b"), "read back by another instance");
        cache.put("a", 1.0e11);
        assertEquals(1.5e11, cache.get("a"), "a slower measurement of the same key keeps the faster one");
        cache.put("a", 2.0e11);
        assertEquals(2.0e11, cache.get("a"), "a faster one replaces it");

        for (String damaged : new String[] {"{\"a\": 1.5e11, \"b\":", "[1, 2]", "", "\u0000\u0001garbage"}) {
            Files.writeString(file, damaged, StandardCharsets.ISO_8859_1);
            assertNull(cache.get("a"), "a damaged file reads as empty: " + damaged);
            cache.put("c", 3e11);
            assertEquals(3e11, cache.get("c"), "and is replaced by a good one");
        }
        Files.writeString(file, "{\"zero\": 0, \"negative\": -1, \"text\": \"1e11\", \"nan\": \"NaN\"}");
        for (String key : new String[] {"zero", "negative", "text", "nan"}) assertNull(cache.get(key), key);
        try (var files = Files.list(file.getParent())) {
            assertEquals(List.of(file), files.toList(), "no temporary files left behind");
        }
    }

    @Test
    void concurrentWritersNeverLeaveAFileReadersCannotParse() throws Exception {
        Path file = dir.resolve("peak-flops.json");
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> work = new ArrayList<>();
            for (int writer = 0; writer < 3; writer++) {
                String key = "writer " + writer;
                double value = (writer + 1) * 1e11;
                work.add(pool.submit(() -> {
                    PeakFlopsCache cache = new PeakFlopsCache(file);
                    for (int i = 0; i < 200; i++) cache.put(key, value);
                    return null;
                }));
            }
            work.add(pool.submit(() -> {
                for (int i = 0; i < 400; i++) {
                    if (Files.exists(file)) {
                        JsonNode node = new ObjectMapper().readTree(Files.readAllBytes(file));
                        assertTrue(node.isObject(), "a reader sees a whole file: " + node);
                    }
                }
                return null;
            }));
            for (Future<?> f : work) f.get();
        } finally {
            pool.shutdownNow();
        }
        // Each writer's last put read the others' entries first, so the last file holds at least its own.
        JsonNode last = new ObjectMapper().readTree(Files.readAllBytes(file));
        assertTrue(last.size() >= 1 && last.size() <= 3, last.toString());
        last.fields().forEachRemaining(e -> assertEquals((e.getKey().charAt(7) - '0' + 1) * 1e11,
                e.getValue().asDouble(), e.getKey()));
    }

    @Test
    void theBackendMeasuresItsMatmulOnceAndThenReadsTheCache() throws Exception {
        Path file = dir.resolve("peak-flops.json");
        String before = System.getProperty(PeakFlopsCache.PROPERTY);
        System.setProperty(PeakFlopsCache.PROPERTY, file.toString());
        try {
            PeakFlops measured, cached;
            long start = System.nanoTime();
            try (CpuBackend backend = new CpuBackend(2)) {
                measured = backend.peakFlops().orElseThrow();
            }
            double probeSeconds = (System.nanoTime() - start) / 1e9;
            try (CpuBackend backend = new CpuBackend(2)) {
                cached = backend.peakFlops().orElseThrow();
            }
            assertTrue(measured.source().startsWith("matmul rate measured"), measured.source());
            // The later run checks briefly and keeps the higher figure: the cache never goes down.
            assertTrue(cached.source().startsWith("matmul rate cached in " + file)
                    || cached.source().startsWith("matmul rate measured now, above the figure cached in " + file),
                    cached.source());
            assertTrue(cached.flopsPerSecond() >= measured.flopsPerSecond(), cached.describe() + " vs " + measured.describe());
            assertEquals(cached.flopsPerSecond(), new ObjectMapper().readTree(Files.readAllBytes(file)).elements().next()
                    .asDouble(), 0.0, "the figure used is the one cached");
            // Any kernel on any machine this runs on does more than 1 GFLOP/s and less than 100 TFLOP/s on 2 threads.
            assertTrue(measured.flopsPerSecond() > 1e9 && measured.flopsPerSecond() < 1e14, measured.describe());
            assertTrue(probeSeconds < 3, "the probe is short: " + probeSeconds + " s");
            JsonNode entries = new ObjectMapper().readTree(Files.readAllBytes(file));
            String key = entries.fieldNames().next();
            assertTrue(key.contains("| 2 threads | "), key);
            try (CpuBackend backend = new CpuBackend(2)) {
                assertTrue(key.endsWith(backend.matmulKernel()), key);
            }
        } finally {
            if (before == null) System.clearProperty(PeakFlopsCache.PROPERTY);
            else System.setProperty(PeakFlopsCache.PROPERTY, before);
        }
    }

    @Test
    void aLowFigureFromABusyMachineIsMendedByTheNextRun() throws Exception {
        Path file = dir.resolve("peak-flops.json");
        String before = System.getProperty(PeakFlopsCache.PROPERTY);
        System.setProperty(PeakFlopsCache.PROPERTY, file.toString());
        try (CpuBackend backend = new CpuBackend(2)) {
            String key = MatmulPeak.cpuModel() + " | 2 threads | " + backend.matmulKernel();
            new PeakFlopsCache(file).put(key, 1e6); // far below what any CPU's matmul does
            PeakFlops peak = backend.peakFlops().orElseThrow();
            assertTrue(peak.flopsPerSecond() > 1e9, peak.describe());
            assertTrue(peak.source().startsWith("matmul rate measured now, above the figure cached in"), peak.source());
            assertEquals(peak.flopsPerSecond(), new PeakFlopsCache(file).get(key), 0.0, "the cache now holds it");
        } finally {
            if (before == null) System.clearProperty(PeakFlopsCache.PROPERTY);
            else System.setProperty(PeakFlopsCache.PROPERTY, before);
        }
    }
}
