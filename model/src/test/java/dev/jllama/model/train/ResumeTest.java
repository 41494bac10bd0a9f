package dev.jllama.model.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jllama.model.Initializer;
import dev.jllama.model.LlamaConfig;
import dev.jllama.model.LlamaModel;
import dev.jllama.model.Parameters;
import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.cpu.CpuBackend;
import dev.jllama.model.checkpoint.CheckpointStore;
import dev.jllama.model.checkpoint.TrainingState;
import dev.jllama.model.optim.AdamW;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A run resumed from a checkpoint must continue exactly as the uninterrupted run, bit for bit on the CPU backend. */
class ResumeTest {
    private static final LlamaConfig CONFIG = new LlamaConfig(32, 2, 4, 2, 97, 64, 1e-5f, 10000f, 16, false);
    private static final int SEQ = 16;
    private static final int MICRO = 3;

    /** Synthetic tokens whose position is the number of windows handed out, so it can resume anywhere. */
    static final class CountingSource implements BatchSource {
        private long windows;

        CountingSource(String position) {
            this.windows = position == null ? 0 : Long.parseLong(position);
        }

        @Override
        public void next(int[] dst, int count) {
            for (int w = 0; w < count; w++, windows++) {
                SplittableRandom random = new SplittableRandom(windows);
                int start = random.nextInt(CONFIG.vocabSize());
                for (int i = 0; i <= SEQ; i++) {
                    // A learnable rule (next = prev * 7 + 3 mod vocab) with occasional noise.
                    dst[w * (SEQ + 1) + i] = random.nextInt(10) == 0 ? random.nextInt(CONFIG.vocabSize()) : start;
                    start = (start * 7 + 3) % CONFIG.vocabSize();
                }
            }
        }

        @Override
        public String position() {
            return Long.toString(windows);
        }
    }

    private static TrainOptions options(int steps, int checkpointEvery) {
        return new TrainOptions(steps, SEQ, MICRO, 2, 1e-2, 2, 0.1, checkpointEvery, 2, 42);
    }

    private static List<float[]> weights(LlamaModel model) {
        List<float[]> out = new ArrayList<>();
        for (Parameters.Param p : model.parameters().all()) {
            float[] host = new float[p.size()];
            model.backend().read(p.value(), 0, host, 0, host.length);
            out.add(host);
        }
        return out;
    }

    @Test
    void resumedRunEqualsUninterruptedRunBitForBit(@TempDir Path dir) throws IOException {
        Configuration conf = new Configuration();
        List<float[]> uninterrupted;
        double uninterruptedLoss;
        try (Backend backend = new CpuBackend(2);
             LlamaModel model = new LlamaModel(CONFIG, backend);
             AdamW optimizer = new AdamW(backend, model.parameters(), AdamW.Hyper.LLAMA)) {
            Initializer.initialize(model, 42);
            StepStats last = new Trainer(model, new LocalSync(optimizer), options(8, 0)).run(0, 0, new CountingSource(null), null,
                    null, s -> {}, step -> {});
            uninterrupted = weights(model);
            uninterruptedLoss = last.loss();
        }

        CheckpointStore store = new CheckpointStore(dir.resolve("ckpt").toString(), conf);
        try (Backend backend = new CpuBackend(1); // a different thread count must not change anything
             LlamaModel model = new LlamaModel(CONFIG, backend);
             AdamW optimizer = new AdamW(backend, model.parameters(), AdamW.Hyper.LLAMA)) {
            Initializer.initialize(model, 42);
            // Interrupted after step 5 of 8: the last checkpoint holds step 5.
            Trainer trainer = new Trainer(model, new LocalSync(optimizer), options(8, 5));
            CountingSource source = new CountingSource(null);
            for (int step = 0; step < 5; step++) trainer.step(step, source);
            store.save(new TrainingState(CONFIG, 5, 42, 5 * options(8, 5).tokensPerStep(), 0,
                    List.of(source.position()), options(8, 5).toJson()), model, optimizer.download(), null, 2);
        }

        List<float[]> resumed;
        double resumedLoss;
        try (Backend backend = new CpuBackend(2);
             LlamaModel model = new LlamaModel(CONFIG, backend);
             AdamW optimizer = new AdamW(backend, model.parameters(), AdamW.Hyper.LLAMA)) {
            Initializer.initialize(model, 7); // different init: everything must come from the checkpoint
            String latest = store.latest().orElseThrow().toString();
            TrainingState state = CheckpointStore.readState(latest, conf);
            assertEquals(5, state.step());
            assertEquals(CONFIG, state.config());
            CheckpointStore.load(latest, conf, model, optimizer);
            StepStats last = new Trainer(model, new LocalSync(optimizer), options(8, 0)).run(state.step(), state.tokensSeen(),
                    new CountingSource(state.dataPositions().get(0)), null, null, s -> {}, step -> {});
            resumed = weights(model);
            resumedLoss = last.loss();
        }
        assertEquals(uninterruptedLoss, resumedLoss, 0.0);
        for (int i = 0; i < uninterrupted.size(); i++) assertArrayEquals(uninterrupted.get(i), resumed.get(i));
    }

    @Test
    void checkpointsAreCompleteAndPruned(@TempDir Path dir) throws IOException {
        Configuration conf = new Configuration();
        CheckpointStore store = new CheckpointStore(dir.toString(), conf);
        try (Backend backend = new CpuBackend(2);
             LlamaModel model = new LlamaModel(CONFIG, backend);
             AdamW optimizer = new AdamW(backend, model.parameters(), AdamW.Hyper.LLAMA)) {
            Initializer.initialize(model, 1);
            StepStats last = new Trainer(model, new LocalSync(optimizer), options(7, 2)).run(0, 0, new CountingSource(null), store,
                    new byte[] {1, 2, 3}, s -> {}, step -> {});
            assertEquals(7, last.step());
        }
        List<String> names = new ArrayList<>();
        for (var p : store.list()) names.add(p.getName());
        // every 2 steps (2, 4, 6) and at the end (7), keeping the newest 2
        assertEquals(List.of("step-00000006", "step-00000007"), names);
        try (var entries = Files.list(dir)) {
            assertFalse(entries.anyMatch(p -> p.getFileName().toString().contains(".tmp-")), "no temporary directories left");
        }
        Path newest = dir.resolve("step-00000007");
        assertTrue(Files.exists(newest.resolve(CheckpointStore.COMPLETE_MARKER)));
        assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(newest.resolve(CheckpointStore.TOKENIZER_FILE)));
        assertEquals(7, CheckpointStore.readState(newest.toString(), conf).step());
    }

    @Test
    void incompleteCheckpointIsIgnoredAndRejected(@TempDir Path dir) throws IOException {
        Path partial = Files.createDirectories(dir.resolve("step-00000009"));
        Files.writeString(partial.resolve(CheckpointStore.STATE_FILE), "{}");
        CheckpointStore store = new CheckpointStore(dir.toString(), new Configuration());
        assertTrue(store.latest().isEmpty());
        IOException e = assertThrows(IOException.class,
                () -> CheckpointStore.readState(partial.toString(), new Configuration()));
        assertTrue(e.getMessage().contains("COMPLETE"), e.getMessage());
    }

    @Test
    void corruptStateNamesTheFileAndField(@TempDir Path dir) throws IOException {
        Path ckpt = Files.createDirectories(dir.resolve("step-00000001"));
        Files.writeString(ckpt.resolve(CheckpointStore.COMPLETE_MARKER), "step 1\n");
        Files.writeString(ckpt.resolve(CheckpointStore.STATE_FILE),
                "{\"format\":\"jllama-checkpoint\",\"version\":1,\"seed\":1,\"config\":{},\"data_positions\":[]}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CheckpointStore.readState(ckpt.toString(), new Configuration()));
        assertTrue(e.getMessage().contains("state.json") && e.getMessage().contains("'step'"), e.getMessage());
    }
}
