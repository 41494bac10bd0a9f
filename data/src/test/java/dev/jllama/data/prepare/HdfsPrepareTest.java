package dev.jllama.data.prepare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jllama.data.SparkTestSession;
import dev.jllama.data.shard.Dataset;
import dev.jllama.data.shard.RankSlice;
import dev.jllama.data.shard.WindowSource;
import dev.jllama.data.tokenizer.Tokenizer;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The preparation job and the reader on a real (in-process) HDFS. */
class HdfsPrepareTest {
    private static MiniDFSCluster cluster;
    private static FileSystem fs;
    private static String root;

    @BeforeAll
    static void startHdfs() throws IOException {
        File base = new File("target/minidfs-" + HdfsPrepareTest.class.getSimpleName()).getAbsoluteFile();
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

    private static void write(String path, String text) throws IOException {
        try (OutputStream out = fs.create(new Path(path), true)) {
            out.write(text.getBytes(StandardCharsets.UTF_8));
        }
    }

    @Test
    void preparesFromHdfsToHdfsAndReadsWindowsBackWithChecks() throws IOException {
        StringBuilder text = new StringBuilder();
        String[] words = {"north", "south", "east", "west", "upper", "lower", "inner", "outer", "middle", "far"};
        for (String w : words) {
            text.append("A story from the ").append(w).append(" valley, where the shepherds count their sheep at dusk.\n")
                    .append("The ").append(w).append(" wind carries the sound of bells across the meadow.\n\n");
        }
        write(root + "/in/stories.txt", text.toString());
        write(root + "/in/more.jsonl", "{\"text\": \"A lone JSON record about a lighthouse keeper and his long nights by the sea.\"}\n");
        String out = root + "/datasets/stories";
        PrepareOptions o = PrepareOptions.withTokenizer(List.of(root + "/in"), out, Tokenizer.bundled())
                .quality(new QualityFilter(20, 0.25)).valFraction(0.1).shardTokens(100);
        PrepareResult r = PrepareJob.run(SparkTestSession.get(), o, m -> {});
        assertTrue(r.dataset().startsWith("hdfs://"), r.dataset());
        assertEquals(11L, ((Number) r.stats().get("documents_kept")).longValue());

        Configuration conf = fs.getConf();
        Dataset d = Dataset.open(out, conf);
        assertEquals(4096, d.tokenizer().vocabSize());
        assertTrue(d.manifest().split("train").shards().size() >= 2);
        String position;
        int[] expected = new int[20 * 17];
        try (WindowSource w = d.windows("train", 16, 9, new RankSlice(0, 2, 5), null)) {
            w.next(new int[5 * 17], 5);
            position = w.position();
            w.next(expected, 20);
        }
        try (WindowSource w = d.windows("train", 16, 9, new RankSlice(0, 2, 5), position)) {
            int[] again = new int[20 * 17];
            w.next(again, 20);
            org.junit.jupiter.api.Assertions.assertArrayEquals(expected, again);
        }

        // Corrupt one byte of the first train shard on HDFS: the reader names the file and the byte range.
        Path shard = new Path(out, "train-00000.bin");
        byte[] bytes;
        try (InputStream in = fs.open(shard)) {
            bytes = in.readAllBytes();
        }
        bytes[1030] ^= 0x01;
        try (OutputStream o2 = fs.create(shard, true)) {
            o2.write(bytes);
        }
        // A single rank reads every window, so 1000 windows (more than an epoch) reach shard 0.
        try (WindowSource w = d.windows("train", 16, 9, new RankSlice(0, 1, 1), null)) {
            IOException e = assertThrows(IOException.class, () -> {
                for (int i = 0; i < 1000; i++) w.next(new int[17], 1);
            });
            assertTrue(e.getMessage().contains(shard.toUri().getPath()) && e.getMessage().contains("bytes [0, "), e.getMessage());
        }
        // A truncated copy is reported with the offset where it ends.
        try (OutputStream o3 = fs.create(shard, true)) {
            o3.write(bytes, 0, 1100);
        }
        try (WindowSource w = d.windows("train", 16, 9, new RankSlice(0, 1, 1), null)) {
            IOException e = assertThrows(IOException.class, () -> {
                for (int i = 0; i < 1000; i++) w.next(new int[17], 1);
            });
            assertTrue(e.getMessage().contains("truncated") && e.getMessage().contains("byte offset 1100"), e.getMessage());
        }
    }
}
