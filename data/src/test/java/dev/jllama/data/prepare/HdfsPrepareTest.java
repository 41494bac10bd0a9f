package dev.jllama.data.prepare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.luben.zstd.ZstdOutputStream;
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
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
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
        // A Parquet table written by Spark straight to HDFS, and zstd-compressed JSON lines.
        SparkSession spark = SparkSession.builder().sparkContext(SparkTestSession.get().sc()).getOrCreate();
        spark.createDataFrame(List.of(RowFactory.create("A Parquet row about the tides that climb the harbour steps twice a day."),
                        RowFactory.create("Another Parquet row: the ferry leaves at noon and returns with the evening post.")),
                new StructType().add("text", DataTypes.StringType)).write().parquet(root + "/tables/harbour");
        try (OutputStream z = new ZstdOutputStream(fs.create(new Path(root + "/in2/news.jsonl.zst")))) {
            z.write("{\"text\": \"A compressed record: the town council met to discuss the new bridge over the river.\"}\n"
                    .getBytes(StandardCharsets.UTF_8));
        }
        String out = root + "/datasets/stories";
        PrepareOptions o = PrepareOptions.withTokenizer(List.of(root + "/in", "harbour=" + root + "/tables/harbour",
                        root + "/in2/news.jsonl.zst"), out, Tokenizer.bundled())
                .quality(new QualityFilter(20, 0.25)).valFraction(0.1).shardTokens(100);
        PrepareResult r = PrepareJob.run(SparkTestSession.get(), o, m -> {});
        assertTrue(r.dataset().startsWith("hdfs://"), r.dataset());
        assertEquals(14L, ((Number) r.stats().get("documents_kept")).longValue());
        @SuppressWarnings("unchecked")
        Map<String, Map<String, Object>> sources = (Map<String, Map<String, Object>>) r.stats().get("sources");
        assertEquals(Map.of("harbour", 2L, "in", 11L, "news", 1L),
                Map.of("harbour", sources.get("harbour").get("documents_out"), "in", sources.get("in").get("documents_out"),
                        "news", sources.get("news").get("documents_out")));
        assertTrue(fs.exists(new Path(out, "report.json")) && fs.exists(new Path(out, "report.png")));

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

        // Corrupt one byte of the first train shard on HDFS: the reader names the file, the byte range and the chunk.
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
            assertTrue(e.getMessage().contains(shard.toUri().getPath()) && e.getMessage().contains("bytes [1024, ")
                    && e.getMessage().contains("(block 0, chunk 2 of "), e.getMessage());
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
