package dev.jllama.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jllama.data.prepare.PrepareJob;
import dev.jllama.data.prepare.PrepareOptions;
import dev.jllama.data.prepare.QualityFilter;
import dev.jllama.data.shard.Manifest;
import dev.jllama.data.tokenizer.Tokenizer;
import dev.jllama.model.Initializer;
import dev.jllama.model.LlamaConfig;
import dev.jllama.model.LlamaModel;
import dev.jllama.model.backend.cpu.CpuBackend;
import dev.jllama.model.checkpoint.CheckpointStore;
import dev.jllama.model.checkpoint.TrainingState;
import dev.jllama.model.optim.AdamW;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * "Appears atomically", watched while it happens: a prepared dataset and a checkpoint never exist under their final
 * name without their completion marker (manifest.json, COMPLETE), and a write that fails half-way leaves neither
 * the final directory nor its temporary one.
 */
class AtomicPublicationTest {
    private static final LlamaConfig CONFIG = new LlamaConfig(32, 2, 4, 2, 64, 64, 1e-5f, 10000f, 16, false);
    private static JavaSparkContext spark;

    @TempDir
    Path tmp;

    @BeforeAll
    static void startSpark() {
        spark = new JavaSparkContext(new SparkConf().setMaster("local[2]").setAppName("AtomicPublicationTest")
                .set("spark.ui.enabled", "false").set("spark.driver.host", "127.0.0.1"));
        // Spark's tasks get this configuration, so every write of the job goes through the watched file system.
        spark.hadoopConfiguration().set("fs." + WatchedFileSystem.SCHEME + ".impl", WatchedFileSystem.class.getName());
    }

    @AfterAll
    static void stopSpark() {
        if (spark != null) spark.stop();
    }

    private static Configuration watchedConf() {
        Configuration conf = new Configuration();
        conf.set("fs." + WatchedFileSystem.SCHEME + ".impl", WatchedFileSystem.class.getName());
        return conf;
    }

    private PrepareOptions prepareOptions(Path out) throws IOException {
        Path in = tmp.resolve("in.txt");
        StringBuilder text = new StringBuilder();
        for (String river : List.of("Avon", "Brue", "Colne", "Dart", "Exe", "Frome")) {
            text.append("The river ").append(river).append(" runs past the mill and under the old stone bridge.\n\n");
        }
        Files.writeString(in, text.toString());
        return PrepareOptions.withTokenizer(List.of(in.toString()), WatchedFileSystem.uri(out), Tokenizer.bundled())
                .quality(new QualityFilter(20, 0.25)).valFraction(0.2).shardTokens(40);
    }

    private List<String> leftovers() throws IOException {
        try (Stream<Path> s = Files.list(tmp)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".")).toList();
        }
    }

    @Test
    void preparedDatasetNeverExistsWithoutItsManifest() throws IOException {
        Path out = tmp.resolve("dataset");
        WatchedFileSystem.watch(out, Manifest.FILE_NAME);
        PrepareJob.run(spark, prepareOptions(out), m -> {});
        assertEquals(List.of(), WatchedFileSystem.violations());
        assertTrue(Files.exists(out.resolve(Manifest.FILE_NAME)));
        assertTrue(Files.exists(out.resolve("train-00000.bin")));
        assertEquals(List.of(), leftovers(), "no temporary directory left");
    }

    @Test
    void failedPreparationLeavesNothing() throws IOException {
        Path out = tmp.resolve("failed");
        WatchedFileSystem.watch(out, Manifest.FILE_NAME);
        WatchedFileSystem.failCreating(Manifest.FILE_NAME);
        IOException e = assertThrows(IOException.class, () -> PrepareJob.run(spark, prepareOptions(out), m -> {}));
        assertTrue(e.getMessage().contains("injected failure"), e.getMessage());
        assertEquals(List.of(), WatchedFileSystem.violations());
        assertTrue(Files.notExists(out));
        assertEquals(List.of(), leftovers(), "the temporary directory is removed");
    }

    private String saveCheckpoint(CheckpointStore store, int step) throws IOException {
        try (CpuBackend backend = new CpuBackend(1);
             LlamaModel model = new LlamaModel(CONFIG, backend);
             AdamW optimizer = new AdamW(backend, model.parameters(), AdamW.Hyper.LLAMA)) {
            Initializer.initialize(model, step);
            return store.save(new TrainingState(CONFIG, step, 1, 0, 0, List.of(), null), model, optimizer.download(), new byte[] {1}, 2);
        }
    }

    @Test
    void checkpointNeverExistsWithoutItsMarker() throws IOException {
        CheckpointStore store = new CheckpointStore(WatchedFileSystem.uri(tmp), watchedConf());
        WatchedFileSystem.watch(tmp.resolve("step-00000003"), CheckpointStore.COMPLETE_MARKER);
        saveCheckpoint(store, 3);
        assertEquals(List.of(), WatchedFileSystem.violations());
        assertTrue(Files.exists(tmp.resolve("step-00000003").resolve(CheckpointStore.COMPLETE_MARKER)));
        assertEquals(List.of(), leftovers(), "no temporary directory left");
        // Saving the same step again (a resumed run repeating it) replaces it without a moment of an incomplete one.
        saveCheckpoint(store, 3);
        assertEquals(List.of(), WatchedFileSystem.violations());
    }

    @Test
    void failedCheckpointLeavesNothingAndKeepsTheOlderOne() throws IOException {
        CheckpointStore store = new CheckpointStore(WatchedFileSystem.uri(tmp), watchedConf());
        WatchedFileSystem.watch(tmp.resolve("step-00000002"), CheckpointStore.COMPLETE_MARKER);
        saveCheckpoint(store, 1);
        WatchedFileSystem.failCreating(CheckpointStore.STATE_FILE);
        IOException e = assertThrows(IOException.class, () -> saveCheckpoint(store, 2));
        assertTrue(e.getMessage().contains("injected failure"), e.getMessage());
        assertEquals(List.of(), WatchedFileSystem.violations());
        assertTrue(Files.notExists(tmp.resolve("step-00000002")));
        assertEquals(List.of(), leftovers(), "the temporary directory is removed");
        assertEquals("step-00000001", store.latest().orElseThrow().getName());
    }
}
