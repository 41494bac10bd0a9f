package dev.jllama.data.mixture;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jllama.data.shard.DatasetWriter;
import dev.jllama.data.shard.Manifest;
import dev.jllama.data.shard.TokenWidth;
import dev.jllama.data.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MixtureTest {
    private static final Configuration CONF = new Configuration();

    @TempDir
    Path tmp;

    /** A dataset whose every token is {@code marker}, so a window shows which dataset it came from. */
    private String dataset(String name, int marker, int tokens) throws IOException {
        Path dir = tmp.resolve(name);
        org.apache.hadoop.fs.Path d = new org.apache.hadoop.fs.Path(dir.toString());
        FileSystem fs = DatasetWriter.withoutSideChecksums(d.getFileSystem(CONF));
        fs.mkdirs(d);
        int[] t = new int[tokens];
        java.util.Arrays.fill(t, marker);
        var train = DatasetWriter.writeShard(fs, new org.apache.hadoop.fs.Path(d, "train-00000.bin"), TokenWidth.UINT16, t, 0,
                tokens, 4096, 1 << 20);
        Map<String, Manifest.Split> splits = new LinkedHashMap<>();
        splits.put("train", new Manifest.Split(tokens, 1, List.of(train)));
        splits.put("val", new Manifest.Split(0, 0, List.of()));
        var tok = DatasetWriter.writeTokenizer(fs, d, Tokenizer.bundled().toModelBytes());
        DatasetWriter.writeManifest(fs, d, new Manifest(Manifest.FORMAT, 1, 4096, 1, 2, 2, tok, 1 << 20, splits, Map.of()));
        return dir.toString();
    }

    /** The LLaMA paper's seven sources, with small stand-in datasets. */
    private List<MixtureComponent> llamaLike() throws IOException {
        List<MixtureComponent> c = new ArrayList<>();
        int marker = 10;
        for (var e : MixtureComponent.LLAMA_PAPER_WEIGHTS.entrySet()) {
            c.add(new MixtureComponent(e.getKey(), dataset(e.getKey(), marker++, 2000), e.getValue()));
        }
        return c;
    }

    @Test
    void realisedProportionsFollowTheWeightsAndAreReported() throws IOException {
        List<MixtureComponent> comps = llamaLike();
        int n = 20_000;
        int seqLen = 4;
        try (Mixture m = Mixture.open(comps, CONF, "train", seqLen, 0, 1, 11, null)) {
            int[] buf = new int[n * (seqLen + 1)];
            m.next(buf, n);
            int[] byMarker = new int[17];
            for (int i = 0; i < n; i++) byMarker[buf[i * (seqLen + 1)] - 10]++;
            Map<String, Map<String, Object>> report = m.report();
            int i = 0;
            for (var e : MixtureComponent.LLAMA_PAPER_WEIGHTS.entrySet()) {
                double expected = e.getValue() / 100.0;
                double realised = (double) report.get(e.getKey()).get("realised");
                assertEquals(byMarker[i++], ((Number) report.get(e.getKey()).get("windows")).intValue());
                // Binomial standard deviation at n=20000 is at most 0.0035; allow 4 sigma.
                assertEquals(expected, realised, 0.014, e.getKey() + " " + report);
            }
        }
    }

    @Test
    void resumesExactlyAndIsSeededPerRank() throws IOException {
        List<MixtureComponent> comps = llamaLike();
        int len = 9;
        int[] rest = new int[500 * len];
        String pos;
        try (Mixture a = Mixture.open(comps, CONF, "train", 8, 1, 2, 5, null)) {
            a.next(new int[123 * len], 123);
            pos = a.position();
            a.next(rest, 500);
        }
        try (Mixture b = Mixture.open(comps, CONF, "train", 8, 1, 2, 5, pos)) {
            int[] again = new int[500 * len];
            b.next(again, 500);
            assertArrayEquals(rest, again);
            assertEquals(623L, b.report().values().stream().mapToLong(r -> ((Number) r.get("windows")).longValue()).sum());
        }
        try (Mixture r0 = Mixture.open(comps, CONF, "train", 8, 0, 2, 5, null);
             Mixture r1 = Mixture.open(comps, CONF, "train", 8, 1, 2, 5, null)) {
            int differ = 0;
            for (int k = 0; k < 200; k++) if (r0.choose(k) != r1.choose(k)) differ++;
            assertTrue(differ > 50, "ranks draw independently: " + differ);
        }
        IOException e = assertThrows(IOException.class, () -> Mixture.open(comps, CONF, "train", 8, 0, 2, 5, pos));
        assertTrue(e.getMessage().contains("rank"), e.getMessage());
    }

    @Test
    void parsesCommandLineComponentsAndRejectsBadOnes() {
        MixtureComponent c = MixtureComponent.parse("4.5=hdfs://nn:8020/data/wiki/");
        assertEquals("wiki", c.name());
        assertEquals("hdfs://nn:8020/data/wiki/", c.dir());
        assertEquals(4.5, c.weight());
        assertEquals("cc", MixtureComponent.parse("cc:67=/d/x").name());
        assertThrows(IllegalArgumentException.class, () -> MixtureComponent.parse("/d/x"));
        assertThrows(IllegalArgumentException.class, () -> MixtureComponent.parse("-1=/d/x"));
        assertThrows(IllegalArgumentException.class, () -> MixtureComponent.parse("abc=/d/x"));
    }
}
