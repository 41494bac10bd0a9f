package dev.jllama.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jllama.data.shard.Dataset;
import dev.jllama.data.shard.DatasetWriter;
import dev.jllama.data.shard.Manifest;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reading at scale on test hosts: three ranks, one in each test host, train from HDFS of three DataNodes (1 MiB
 * blocks, one replica) reached over the hosts' links. The DataNodes' BytesRead metrics show what the ranks cost
 * them: with chunk checksums each rank reads about its own windows of a block, without them (a dataset as prepared
 * before chunk checksums) every rank reads every block it visits whole, about three times as much; both runs train
 * on the same windows.
 */
class TestHostsHdfsReadsTest {
    private static final int RANKS = 3;
    private static final int SEQ_LEN = 1024;
    private static final int MICRO_BATCH = 4;
    private static final int STEPS = 40;
    private static final int HDFS_BLOCK = 1 << 20;

    @TempDir
    static Path work;

    /** What one run's ranks reported and what each DataNode served meanwhile. */
    private record Reads(JsonNode result, long[] served) {
        long bytesRead() {
            long sum = 0;
            for (JsonNode rank : result.get("bytes_read")) sum += rank.asLong();
            return sum;
        }
    }

    @Test
    void ranksOnTestHostsReadTheirOwnWindowsFromHdfs() throws Exception {
        String local = TrainRuns.bundledData();
        // A model small enough for three ranks on this machine's cores, with windows of LLaMA's order of length.
        Path model = work.resolve("model.json");
        Files.writeString(model, "{\"dim\":16,\"layers\":1,\"heads\":2,\"vocab_size\":4096,\"max_seq_len\":" + SEQ_LEN
                + ",\"multiple_of\":16}");
        MiniDFSCluster hdfs = TestHostsTrainingTest.reachableHdfs(work.resolve("hdfs"), RANKS);
        try (TestHosts hosts = TestHosts.up(RANKS)) {
            FileSystem fs = hdfs.getFileSystem();
            upload(fs, Path.of(local), "/data/chunks");
            upload(fs, Path.of(local), "/data/whole-blocks");
            asPreparedBeforeChunkChecksums(fs, "/data/whole-blocks");
            String root = TestHostsTrainingTest.rootFromHosts(hdfs);
            Reads chunks = train(hosts, root + "/data/chunks", root + "/runs/chunks", model);
            Reads whole = train(hosts, root + "/data/whole-blocks", root + "/runs/whole-blocks", model);
            for (String run : List.of("chunks", "whole-blocks")) {
                Reads r = run.equals("chunks") ? chunks : whole;
                System.out.printf("test hosts, %d ranks, %s: bytes_read %s, bytes_trained %s, read_amplification %.3f; "
                                + "bytes served per DataNode %s%n", RANKS, run, r.result().get("bytes_read"),
                        r.result().get("bytes_trained"), r.result().get("read_amplification").asDouble(),
                        Arrays.toString(r.served()));
            }
            assertEquals(chunks.result().get("bytes_trained"), whole.result().get("bytes_trained"));
            assertEquals(chunks.result().get("final_loss"), whole.result().get("final_loss"),
                    "both runs train on the same windows");
            for (Reads r : List.of(chunks, whole)) {
                assertTrue(Arrays.stream(r.served()).sum() >= r.bytesRead(), "the DataNodes served what the ranks read: "
                        + Arrays.toString(r.served()) + " vs " + r.result().get("bytes_read"));
            }
            assertTrue(whole.bytesRead() > 2 * chunks.bytesRead(), "whole blocks cost every rank all of each block: "
                    + whole.bytesRead() + " vs " + chunks.bytesRead() + " bytes");
            assertTrue(Arrays.stream(whole.served()).sum() > 2 * Arrays.stream(chunks.served()).sum(),
                    "the DataNodes serve a third: " + Arrays.toString(chunks.served()) + " vs " + Arrays.toString(whole.served()));
        } finally {
            hdfs.shutdown();
        }
    }

    /** Copies a local dataset directory to {@code dir} on HDFS in 1 MiB blocks of one replica. */
    private static void upload(FileSystem fs, Path local, String dir) throws IOException {
        try (Stream<Path> files = Files.list(local)) {
            for (Path file : files.toList()) {
                try (InputStream in = Files.newInputStream(file);
                     OutputStream out = fs.create(new org.apache.hadoop.fs.Path(dir, file.getFileName().toString()), true,
                             1 << 16, (short) 1, HDFS_BLOCK)) {
                    in.transferTo(out);
                }
            }
        }
    }

    /** Removes the chunk checksums files and the manifest's chunk_bytes, as in a dataset prepared before them. */
    private static void asPreparedBeforeChunkChecksums(FileSystem fs, String dir) throws IOException {
        org.apache.hadoop.fs.Path d = new org.apache.hadoop.fs.Path(dir);
        Manifest m = Dataset.open(fs.getUri() + dir, fs.getConf()).manifest();
        for (FileStatus f : fs.listStatus(d)) {
            if (f.getPath().getName().endsWith(Manifest.CHUNK_CHECKSUMS_SUFFIX)) fs.delete(f.getPath(), false);
        }
        fs.delete(new org.apache.hadoop.fs.Path(d, Manifest.FILE_NAME), false);
        DatasetWriter.writeManifest(fs, d, new Manifest(m.format(), m.formatVersion(), m.vocabSize(), m.bosId(), m.eosId(),
                m.tokenWidth(), m.tokenizer(), m.blockBytes(), m.splits(), m.preparation()));
    }

    private static Reads train(TestHosts hosts, String data, String out, Path model) throws Exception {
        List<String> args = new ArrayList<>(List.of("train", "--data", data, "--out", out, "--model", model.toString(),
                "--steps", Integer.toString(STEPS), "--seq-len", Integer.toString(SEQ_LEN),
                "--micro-batch", Integer.toString(MICRO_BATCH),
                "--batch-tokens", Integer.toString(RANKS * MICRO_BATCH * SEQ_LEN), "--ranks", Integer.toString(RANKS),
                "--threads", "1", "--checkpoint-every", "0", "--eval-batches", "0",
                "--max-attempts", "1", "--json"));
        args.addAll(TestHostsTrainingTest.onTestHosts(hosts, RANKS));
        long[] before = dataNodeBytesRead();
        JsonNode result = TrainRuns.train(args.toArray(String[]::new));
        return new Reads(result, minus(dataNodeBytesRead(), before));
    }

    private static long[] minus(long[] a, long[] b) {
        long[] d = new long[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i] - b[i];
        return d;
    }

    /** Each DataNode's BytesRead metric from its JMX bean, whose cache refreshes every 10 s by default. */
    private static long[] dataNodeBytesRead() throws Exception {
        Thread.sleep(11_000);
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        List<ObjectName> names = new ArrayList<>(server.queryNames(new ObjectName("Hadoop:service=DataNode,name=DataNodeActivity-*"), null));
        names.sort(null);
        assertEquals(RANKS, names.size(), "one DataNodeActivity bean per DataNode: " + names);
        long[] bytes = new long[names.size()];
        for (int i = 0; i < bytes.length; i++) bytes[i] = ((Number) server.getAttribute(names.get(i), "BytesRead")).longValue();
        return bytes;
    }
}
