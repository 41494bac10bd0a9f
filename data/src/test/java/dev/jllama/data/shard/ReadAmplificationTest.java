package dev.jllama.data.shard;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jllama.data.mixture.TrainingData;
import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.BlockLocation;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Ranks read about what they train on, on a real (in-process) HDFS of three DataNodes: the bytes all ranks read
 * from the file system, less one block of read-ahead per rank (per dataset of a mixture), are at most 1.2× the
 * bytes of the tokens they train on, at LLaMA's context of 2048 tokens; the windows are those the whole-block reader
 * of datasets without chunk checksums hands out; and every DataNode holding blocks of the shards (1 MiB HDFS
 * blocks, one replica) serves part of the reads.
 */
class ReadAmplificationTest {
    private static final int VOCAB = 32_000;
    private static final int SEQ = 2048;
    private static final int BLOCK_BYTES = Manifest.DEFAULT_BLOCK_BYTES;
    /** 9 blocks of 256 windows in two shards. */
    private static final long[] SHARDS = {1_500_000, 2_700_000};
    private static final int WINDOWS_PER_STEP = 4;
    /** About four epochs of the dataset, whatever the world size. */
    private static final int WORLD_WINDOWS = 8192;
    private static final double MAX_AMPLIFICATION = 1.2;
    private static MiniDFSCluster cluster;
    private static Configuration conf;
    private static String root;

    @BeforeAll
    static void startHdfs() throws IOException {
        File base = new File("target/minidfs-" + ReadAmplificationTest.class.getSimpleName()).getAbsoluteFile();
        Configuration c = new Configuration();
        c.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, base.getPath());
        c.setLong("dfs.blocksize", 1 << 20);
        c.setInt("dfs.replication", 1);
        cluster = new MiniDFSCluster.Builder(c).numDataNodes(3).format(true).build();
        cluster.waitActive();
        FileSystem fs = cluster.getFileSystem();
        conf = fs.getConf();
        root = fs.getUri() + "/jllama";
        TestDatasets.write(root + "/web", conf, VOCAB, BLOCK_BYTES, SHARDS, new long[] {5000});
        TestDatasets.write(root + "/web-whole-blocks", conf, VOCAB, BLOCK_BYTES, SHARDS, new long[] {5000});
        TestDatasets.withoutChunkChecksums(root + "/web-whole-blocks", conf);
        TestDatasets.write(root + "/books", conf, VOCAB, BLOCK_BYTES, new long[] {1_200_000}, new long[] {5000});
    }

    @AfterAll
    static void stopHdfs() {
        if (cluster != null) cluster.shutdown();
    }

    /** What the ranks of one run read and trained on, and the windows each rank trained on. */
    private record Run(long bytesRead, long bytesTrained, int[][] windows) {
        double amplificationBeyond(long readAheadBytes) {
            return (double) (bytesRead - readAheadBytes) / bytesTrained;
        }
    }

    /** World {@code world} trains step by step on WORLD_WINDOWS windows of {@code data}, from the start. */
    private static Run train(TrainingData data, int world) throws IOException {
        int steps = WORLD_WINDOWS / (world * WINDOWS_PER_STEP);
        int len = SEQ + 1;
        List<WindowSource> ranks = new ArrayList<>();
        int[][] windows = new int[world][steps * WINDOWS_PER_STEP * len];
        try {
            for (int r = 0; r < world; r++) ranks.add(data.windows("train", SEQ, 5, new RankSlice(r, world, WINDOWS_PER_STEP), null));
            int[] step = new int[WINDOWS_PER_STEP * len];
            for (int s = 0; s < steps; s++) {
                for (int r = 0; r < world; r++) {
                    ranks.get(r).next(step, WINDOWS_PER_STEP);
                    System.arraycopy(step, 0, windows[r], s * step.length, step.length);
                }
            }
            long read = ranks.stream().mapToLong(WindowSource::bytesRead).sum();
            long trained = ranks.stream().mapToLong(WindowSource::bytesTrained).sum();
            return new Run(read, trained, windows);
        } finally {
            for (WindowSource s : ranks) s.close();
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3, 4})
    void ranksReadAboutWhatTheyTrainOnAndTheSameWindowsAsWholeBlockReads(int world) throws IOException {
        long[] before = dataNodeBytesRead();
        Run run = train(TrainingData.open(root + "/web", conf), world);
        long[] served = minus(dataNodeBytesRead(), before);
        double amplification = run.amplificationBeyond((long) world * BLOCK_BYTES);
        System.out.printf("read amplification, %d ranks: %.3f beyond one block of read-ahead per rank (%.3f in all: "
                        + "%d bytes read, %d trained on); bytes served per DataNode: %s%n", world, amplification,
                (double) run.bytesRead() / run.bytesTrained(), run.bytesRead(), run.bytesTrained(), Arrays.toString(served));
        assertTrue(amplification <= MAX_AMPLIFICATION, "ranks read " + amplification + "× what they trained on");
        assertTrue(Arrays.stream(served).sum() >= run.bytesRead(), "the DataNodes served what the ranks read: "
                + Arrays.toString(served) + " vs " + run.bytesRead());
        // Placement of 1-replica blocks is random, so only DataNodes holding some of the dataset's blocks must serve.
        List<String> dataNodes = dataNodeNames();
        Set<String> holders = holdersOfTrainShards(root + "/web");
        assertTrue(!holders.isEmpty() && dataNodes.containsAll(holders), "block holders " + holders + " among " + dataNodes);
        for (int i = 0; i < served.length; i++) {
            if (holders.contains(dataNodes.get(i))) {
                assertTrue(served[i] > 0, "DataNode " + dataNodes.get(i) + ", holding blocks of the shards, serves some of "
                        + "the reads: " + Arrays.toString(served) + " of " + dataNodes);
            }
        }

        Run wholeBlocks = train(TrainingData.open(root + "/web-whole-blocks", conf), world);
        for (int r = 0; r < world; r++) {
            assertArrayEquals(wholeBlocks.windows()[r], run.windows()[r], "rank " + r + " of " + world + " trains on the same windows");
        }
        assertTrue(wholeBlocks.amplificationBeyond(0) > 0.9 * world,
                "whole-block reads cost each rank the whole stream: " + wholeBlocks.amplificationBeyond(0));
    }

    @Test
    void ranksOfAMixtureReadAboutWhatTheyTrainOn() throws IOException {
        TrainingData mixture = TrainingData.open("web=" + root + "/web:2,books=" + root + "/books:1", conf);
        int world = 3;
        Run run = train(mixture, world);
        double amplification = run.amplificationBeyond((long) world * 2 * BLOCK_BYTES); // one block per rank and dataset
        System.out.printf("read amplification, mixture of 2 datasets, %d ranks: %.3f beyond one block of read-ahead per "
                        + "rank and dataset (%.3f in all)%n", world, amplification, (double) run.bytesRead() / run.bytesTrained());
        assertTrue(amplification <= MAX_AMPLIFICATION, "ranks read " + amplification + "× what they trained on");
    }

    private static long[] minus(long[] a, long[] b) {
        long[] d = new long[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i] - b[i];
        return d;
    }

    /** The DataNodes in the order of {@link #dataNodeBytesRead}, as their bean names end: host-transferPort. */
    private static List<String> dataNodeNames() throws IOException {
        List<String> names = new ArrayList<>();
        for (ObjectName n : dataNodeBeans()) {
            String bean = n.getKeyProperty("name");
            names.add(bean.substring("DataNodeActivity-".length()));
        }
        return names;
    }

    /** The DataNodes (host-transferPort) holding blocks of dataset {@code dir}'s train shards. */
    private static Set<String> holdersOfTrainShards(String dir) throws IOException {
        FileSystem fs = cluster.getFileSystem();
        Set<String> holders = new TreeSet<>();
        for (ShardInfo shard : Dataset.open(dir, conf).manifest().split("train").shards()) {
            Path file = new Path(dir, shard.file());
            for (BlockLocation b : fs.getFileBlockLocations(fs.getFileStatus(file), 0, shard.bytes())) {
                for (String hostPort : b.getNames()) holders.add(hostPort.replace(':', '-'));
            }
        }
        return holders;
    }

    private static List<ObjectName> dataNodeBeans() throws IOException {
        try {
            MBeanServer server = ManagementFactory.getPlatformMBeanServer();
            List<ObjectName> names = new ArrayList<>(server.queryNames(new ObjectName("Hadoop:service=DataNode,name=DataNodeActivity-*"), null));
            names.sort(null);
            if (names.size() != cluster.getDataNodes().size()) {
                throw new IOException("expected one DataNodeActivity bean per DataNode, found " + names);
            }
            return names;
        } catch (JMException e) {
            throw new IOException("cannot list the DataNodes' metrics beans: " + e, e);
        }
    }

    /**
     * Each DataNode's BytesRead metric (bytes it sent to readers), from its JMX bean, once the beans have refreshed
     * their cache (every second, test resource hadoop-metrics2.properties).
     */
    private static long[] dataNodeBytesRead() throws IOException {
        try {
            Thread.sleep(2500);
            MBeanServer server = ManagementFactory.getPlatformMBeanServer();
            List<ObjectName> names = dataNodeBeans();
            long[] bytes = new long[names.size()];
            for (int i = 0; i < bytes.length; i++) bytes[i] = ((Number) server.getAttribute(names.get(i), "BytesRead")).longValue();
            return bytes;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for the DataNodes' metrics", e);
        } catch (JMException e) {
            throw new IOException("cannot read the DataNodes' BytesRead metric: " + e, e);
        }
    }
}
