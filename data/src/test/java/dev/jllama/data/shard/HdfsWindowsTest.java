package dev.jllama.data.shard;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jllama.data.mixture.TrainingData;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Block reads with positional reads on a real (in-process) HDFS: the same windows as from a local copy. */
class HdfsWindowsTest {
    private static final int VOCAB = 1 << 24;
    private static final long[] SHARDS = {1000, 1500, 777};
    private static MiniDFSCluster cluster;
    private static FileSystem fs;
    private static String root;

    @TempDir
    Path tmp;

    @BeforeAll
    static void startHdfs() throws IOException {
        File base = new File("target/minidfs-" + HdfsWindowsTest.class.getSimpleName()).getAbsoluteFile();
        Configuration conf = new Configuration();
        conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, base.getPath());
        cluster = new MiniDFSCluster.Builder(conf).numDataNodes(1).format(true).build();
        cluster.waitActive();
        fs = cluster.getFileSystem();
        root = fs.getUri() + "/jllama";
    }

    @AfterAll
    static void stopHdfs() {
        if (cluster != null) cluster.shutdown();
    }

    /** Two ranks' windows, 3 per step for 40 steps, each rank's concatenated. */
    private static int[] twoRanks(Dataset d) throws IOException {
        int len = 9;
        int[] out = new int[2 * 120 * len];
        for (int r = 0; r < 2; r++) {
            try (WindowSource s = d.windows("train", 8, 21, new RankSlice(r, 2, 3), null)) {
                int[] mine = new int[120 * len];
                s.next(mine, 120);
                System.arraycopy(mine, 0, out, r * mine.length, mine.length);
            }
        }
        return out;
    }

    @Test
    void readsTheSameWindowsAsLocallyAndNamesCorruptHdfsBlocks() throws IOException {
        Configuration conf = fs.getConf();
        String remote = root + "/identifiable";
        TestDatasets.write(remote, conf, VOCAB, 256, SHARDS, new long[] {300});
        TestDatasets.write(tmp.toString(), new Configuration(), VOCAB, 256, SHARDS, new long[] {300});
        Dataset onHdfs = Dataset.open(remote, conf);
        Dataset local = Dataset.open(tmp.toString(), new Configuration());
        assertTrue(onHdfs.dir().toString().startsWith("hdfs://"), onHdfs.dir().toString());
        assertEquals(local.fingerprint("train"), onHdfs.fingerprint("train"));
        assertArrayEquals(twoRanks(local), twoRanks(onHdfs));

        // A mixture spec whose directories carry scheme and port.
        TrainingData mix = TrainingData.open("a=" + remote + ":1,b=file://" + tmp + ":1", conf);
        assertEquals(remote, mix.components().getFirst().dir());
        try (WindowSource s = mix.windows("train", 8, 1, new RankSlice(0, 1, 50), null)) {
            s.next(new int[50 * 9], 50);
        }

        org.apache.hadoop.fs.Path shard = new org.apache.hadoop.fs.Path(remote, "train-00001.bin");
        byte[] bytes;
        try (InputStream in = fs.open(shard)) {
            bytes = in.readAllBytes();
        }
        bytes[3000] ^= 0x10;
        try (OutputStream out = fs.create(shard, true)) {
            out.write(bytes);
        }
        int epoch = 124 + 187 + 97; // every block of the split once
        try (WindowSource s = onHdfs.windows("train", 8, 21, new RankSlice(0, 1, epoch), null)) {
            IOException e = assertThrows(IOException.class, () -> s.next(new int[epoch * 9], epoch));
            assertTrue(e.getMessage().contains(shard.toUri().getPath() + " is corrupt")
                    && e.getMessage().contains("bytes [2816, 3072) (block 11, chunk 11 of"), e.getMessage());
        }
    }
}
