package dev.jllama.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
import dev.jllama.model.train.BatchSource;
import dev.jllama.model.train.TrainOptions;
import dev.jllama.model.train.LocalSync;
import dev.jllama.model.train.Trainer;
import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Checkpoints written to and read from a real (in-process) HDFS, as the barrier tasks of a cluster job do. */
class HdfsCheckpointTest {
    private static final LlamaConfig CONFIG = new LlamaConfig(32, 2, 4, 2, 64, 64, 1e-5f, 10000f, 16, false);
    private static MiniDFSCluster cluster;
    private static FileSystem fs;

    @BeforeAll
    static void startHdfs() throws IOException {
        File base = new File("target/minidfs-" + HdfsCheckpointTest.class.getSimpleName()).getAbsoluteFile();
        Configuration conf = new Configuration();
        conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, base.getPath());
        cluster = new MiniDFSCluster.Builder(conf).numDataNodes(1).format(true).build();
        cluster.waitActive();
        fs = cluster.getFileSystem();
    }

    @AfterAll
    static void stopHdfs() {
        if (cluster != null) cluster.shutdown();
    }

    private static BatchSource randomTokens() {
        SplittableRandom random = new SplittableRandom(3);
        return new BatchSource() {
            private long windows;

            @Override
            public void next(int[] dst, int count) {
                for (int i = 0; i < count * 17; i++) dst[i] = random.nextInt(CONFIG.vocabSize());
                windows += count;
            }

            @Override
            public String position() {
                return "windows=" + windows;
            }
        };
    }

    private static List<float[]> read(Backend backend, List<?> tensors) {
        List<float[]> out = new ArrayList<>();
        for (Object o : tensors) {
            var t = o instanceof Parameters.Param p ? p.value() : (dev.jllama.model.backend.Tensor) o;
            float[] host = new float[t.size()];
            backend.read(t, 0, host, 0, host.length);
            out.add(host);
        }
        return out;
    }

    @Test
    void checkpointRoundTripsThroughHdfsAndKeepsTheNewest() throws IOException {
        String root = fs.getUri() + "/runs/hdfs-test/checkpoints";
        Configuration conf = fs.getConf();
        TrainOptions options = new TrainOptions(5, 16, 2, 1, 1e-2, 1, 0.1, 2, 2, 7);
        List<float[]> weights;
        List<float[]> moments;
        try (Backend backend = new CpuBackend(2);
             LlamaModel model = new LlamaModel(CONFIG, backend);
             AdamW optimizer = new AdamW(backend, model.parameters(), AdamW.Hyper.LLAMA)) {
            Initializer.initialize(model, 7);
            CheckpointStore store = new CheckpointStore(root, conf);
            new Trainer(model, new LocalSync(optimizer), options).run(0, 0, randomTokens(), store, new byte[] {9, 8, 7}, s -> {}, step -> {});
            weights = read(backend, model.parameters().all());
            moments = read(backend, optimizer.secondMoments());
        }
        // Steps 2, 4 and the final 5 were written; the newest two are kept, and no temporary directory remains.
        List<String> names = new ArrayList<>();
        for (var status : fs.listStatus(new Path(root))) names.add(status.getPath().getName());
        assertEquals(List.of("step-00000004", "step-00000005"), names.stream().sorted().toList());

        String latest = new CheckpointStore(root, conf).latest().orElseThrow().toString();
        assertTrue(latest.startsWith("hdfs://"), latest);
        TrainingState state = CheckpointStore.readState(latest, conf);
        assertEquals(5, state.step());
        assertEquals(CONFIG, state.config());
        assertEquals(List.of("windows=10"), state.dataPositions());
        assertArrayEquals(new byte[] {9, 8, 7}, CheckpointStore.readTokenizer(latest, conf).orElseThrow());
        try (Backend backend = new CpuBackend(1);
             LlamaModel model = new LlamaModel(CONFIG, backend);
             AdamW optimizer = new AdamW(backend, model.parameters(), AdamW.Hyper.LLAMA)) {
            CheckpointStore.load(latest, conf, model, optimizer);
            List<float[]> loaded = read(backend, model.parameters().all());
            List<float[]> loadedMoments = read(backend, optimizer.secondMoments());
            for (int i = 0; i < weights.size(); i++) {
                assertArrayEquals(weights.get(i), loaded.get(i));
                assertArrayEquals(moments.get(i), loadedMoments.get(i));
            }
        }
    }
}
