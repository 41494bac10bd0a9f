package dev.jllama.model.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jllama.model.Initializer;
import dev.jllama.model.LlamaConfig;
import dev.jllama.model.LlamaModel;
import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.cpu.CpuBackend;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every checkpoint file is checked against the length and CRC32C recorded when it was written, on every load, and
 * a damaged newest checkpoint is skipped for the previous one with a warning that names both.
 */
class CheckpointIntegrityTest {
    private static final LlamaConfig CONFIG = new LlamaConfig(32, 2, 4, 2, 97, 64, 1e-5f, 10000f, 16, false);
    private static final byte[] TOKENIZER = "a tokenizer".getBytes(StandardCharsets.UTF_8);

    @TempDir
    Path root;
    final Configuration conf = new Configuration();

    @BeforeEach
    void twoCheckpoints() throws IOException {
        save(3, 1);
        save(5, 2);
    }

    /** A checkpoint at {@code step} of a model initialised with {@code seed}. */
    private void save(int step, long seed) throws IOException {
        try (Backend backend = new CpuBackend(1); LlamaModel model = new LlamaModel(CONFIG, backend)) {
            Initializer.initialize(model, seed);
            List<float[]> zeros = new ArrayList<>();
            for (var p : model.parameters().all()) zeros.add(new float[p.size()]);
            TrainingState state = new TrainingState(CONFIG, step, 7, step * 100L, 1.5, Collections.nCopies(2, "9"),
                    new ObjectMapper().createObjectNode());
            new CheckpointStore(root.toString(), conf).save(state, model, new OptimizerState(zeros, zeros), TOKENIZER, 0);
        }
    }

    private Path checkpoint(int step) {
        return root.resolve(String.format("step-%08d", step));
    }

    /** Flips one bit in the middle of a file, as a bad disk or a bad copy would, and drops Hadoop's side file. */
    private static void flipBit(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length / 2] ^= 0x10;
        Files.write(file, bytes);
        Files.deleteIfExists(file.resolveSibling("." + file.getFileName() + ".crc"));
    }

    @Test
    void intactCheckpointLoadsAndRecordsItsChecksums() throws IOException {
        var json = new ObjectMapper().readTree(checkpoint(5).resolve(CheckpointStore.STATE_FILE).toFile());
        assertEquals(TrainingState.VERSION, json.get("version").asInt());
        for (String file : List.of(CheckpointStore.MODEL_FILE, CheckpointStore.OPTIMIZER_FILE, CheckpointStore.TOKENIZER_FILE)) {
            var sum = json.get(CheckpointStore.FILES_FIELD).get(file);
            assertEquals(Files.size(checkpoint(5).resolve(file)), sum.get("bytes").asLong(), file);
            assertTrue(sum.get("crc32c").asText().matches("[0-9a-f]{8}"), sum.toString());
        }
        assertEquals(5, CheckpointStore.readState(checkpoint(5).toString(), conf).step());
        assertArrayEquals(TOKENIZER, CheckpointStore.readTokenizer(checkpoint(5).toString(), conf).orElseThrow());
    }

    @Test
    void flippedBitInTheWeightsIsRefusedNamingTheFile() throws IOException {
        flipBit(checkpoint(5).resolve(CheckpointStore.MODEL_FILE));
        try (Backend backend = new CpuBackend(1); LlamaModel model = new LlamaModel(CONFIG, backend)) {
            CorruptCheckpointException e = assertThrows(CorruptCheckpointException.class,
                    () -> CheckpointStore.loadWeights(checkpoint(5).toString(), conf, model));
            assertEquals(CheckpointStore.MODEL_FILE, e.file());
            assertTrue(e.getMessage().contains("CRC32C") && e.getMessage().contains("step-00000005"), e.getMessage());
        }
    }

    /** With Hadoop's side file left in place, its own checksum error is reported the same way. */
    @Test
    void hadoopsOwnChecksumErrorCountsAsCorruption() throws IOException {
        Path moments = checkpoint(5).resolve(CheckpointStore.OPTIMIZER_FILE);
        assertTrue(Files.exists(moments.resolveSibling("." + moments.getFileName() + ".crc")),
                "the local file system writes side checksums unless someone switched them off");
        byte[] bytes = Files.readAllBytes(moments);
        bytes[bytes.length - 3] ^= 1;
        Files.write(moments, bytes);
        try (Backend backend = new CpuBackend(1); LlamaModel model = new LlamaModel(CONFIG, backend)) {
            CorruptCheckpointException e = assertThrows(CorruptCheckpointException.class,
                    () -> CheckpointStore.readMoments(checkpoint(5).toString(), conf, model.parameters()));
            assertEquals(CheckpointStore.OPTIMIZER_FILE, e.file());
        }
    }

    @Test
    void truncatedMissingOrEditedFilesAreRefused() throws IOException {
        Path moments = checkpoint(5).resolve(CheckpointStore.OPTIMIZER_FILE);
        Files.write(moments, java.util.Arrays.copyOf(Files.readAllBytes(moments), (int) Files.size(moments) - 4));
        Files.deleteIfExists(moments.resolveSibling("." + moments.getFileName() + ".crc"));
        try (Backend backend = new CpuBackend(1); LlamaModel model = new LlamaModel(CONFIG, backend)) {
            CorruptCheckpointException e = assertThrows(CorruptCheckpointException.class,
                    () -> CheckpointStore.readMoments(checkpoint(5).toString(), conf, model.parameters()));
            assertTrue(e.getMessage().contains(CheckpointStore.OPTIMIZER_FILE), e.getMessage());
        }
        Files.delete(checkpoint(3).resolve(CheckpointStore.TOKENIZER_FILE));
        CorruptCheckpointException missing = assertThrows(CorruptCheckpointException.class,
                () -> CheckpointStore.readTokenizer(checkpoint(3).toString(), conf));
        assertTrue(missing.getMessage().contains("tokenizer.model: missing"), missing.getMessage());

        Path state = checkpoint(3).resolve(CheckpointStore.STATE_FILE);
        Files.writeString(state, Files.readString(state).replace("\"seed\" : 7", "\"seed\" : 8"));
        Files.deleteIfExists(state.resolveSibling(".state.json.crc"));
        CorruptCheckpointException edited = assertThrows(CorruptCheckpointException.class,
                () -> CheckpointStore.readState(checkpoint(3).toString(), conf));
        assertEquals(CheckpointStore.STATE_FILE, edited.file());
    }

    @Test
    void damagedNewestCheckpointIsSkippedForThePreviousOne() throws IOException {
        flipBit(checkpoint(5).resolve(CheckpointStore.MODEL_FILE));
        CheckpointStore store = new CheckpointStore(root.toString(), conf);
        List<String> warnings = new ArrayList<>();
        try (Backend backend = new CpuBackend(1); LlamaModel model = new LlamaModel(CONFIG, backend)) {
            Optional<Integer> step = store.loadNewest(dir -> {
                CheckpointStore.loadWeights(dir, conf, model);
                return CheckpointStore.readState(dir, conf).step();
            }, warnings::add);
            assertEquals(Optional.of(3), step);
            assertEquals(1, warnings.size(), warnings.toString());
            assertTrue(warnings.get(0).contains("step-00000005") && warnings.get(0).contains("model.safetensors")
                    && warnings.get(0).contains("previous"), warnings.get(0));
        }
        flipBit(checkpoint(3).resolve(CheckpointStore.MODEL_FILE));
        warnings.clear();
        try (Backend backend = new CpuBackend(1); LlamaModel model = new LlamaModel(CONFIG, backend)) {
            assertTrue(store.loadNewest(dir -> {
                CheckpointStore.loadWeights(dir, conf, model);
                return dir;
            }, warnings::add).isEmpty());
            assertEquals(2, warnings.size(), warnings.toString());
        }
    }

    @Test
    void unfinishedNewerCheckpointIsNamedAndNeverRead() throws IOException {
        Path unfinished = Files.createDirectories(checkpoint(7));
        Files.writeString(unfinished.resolve(CheckpointStore.STATE_FILE), "{}");
        List<String> warnings = new ArrayList<>();
        Optional<Integer> step = new CheckpointStore(root.toString(), conf).loadNewest(
                dir -> CheckpointStore.readState(dir, conf).step(), warnings::add);
        assertEquals(Optional.of(5), step);
        assertEquals(1, warnings.size(), warnings.toString());
        assertTrue(warnings.get(0).contains("step-00000007") && warnings.get(0).contains("COMPLETE"), warnings.get(0));
    }

    /** Checksums come with the checkpoint, so they hold where the file system keeps none. */
    @Test
    void checksumsHoldWithoutHadoopSideFiles() throws IOException {
        FileSystem local = FileSystem.getLocal(conf);
        try (var files = Files.walk(root)) {
            for (Path p : files.filter(p -> p.getFileName().toString().endsWith(".crc")).toList()) Files.delete(p);
        }
        flipBit(checkpoint(3).resolve(CheckpointStore.TOKENIZER_FILE));
        assertThrows(CorruptCheckpointException.class,
                () -> CheckpointStore.readTokenizer(checkpoint(3).toString(), conf));
        assertFalse(local.exists(new org.apache.hadoop.fs.Path(checkpoint(3).resolve(".tokenizer.model.crc").toUri())));
    }
}
