package dev.jllama.data.shard;

import dev.jllama.data.tokenizer.Tokenizer;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/** Builds small datasets whose token values reveal where they came from. */
final class TestDatasets {
    private TestDatasets() {}

    /**
     * Token i of shard s (counted over train, then val) is (s * 1,000,000 + i) % vocab: with a vocabulary above the
     * largest such value, a window's first token names its shard and offset.
     */
    static int token(int shard, long i, int vocab) {
        return (int) ((shard * 1_000_000L + i) % vocab);
    }

    static Manifest write(String dir, Configuration conf, int vocab, int blockBytes, long[] trainShards, long[] valShards)
            throws IOException {
        Path d = new Path(dir);
        FileSystem fs = DatasetWriter.withoutSideChecksums(d.getFileSystem(conf));
        fs.mkdirs(d);
        TokenWidth width = TokenWidth.forVocabulary(vocab);
        Map<String, Manifest.Split> splits = new LinkedHashMap<>();
        int shardId = 0;
        for (String split : List.of("train", "val")) {
            long[] sizes = split.equals("train") ? trainShards : valShards;
            List<ShardInfo> infos = new ArrayList<>();
            long total = 0;
            for (int s = 0; s < sizes.length; s++, shardId++) {
                int[] t = new int[(int) sizes[s]];
                for (int i = 0; i < t.length; i++) t[i] = token(shardId, i, vocab);
                infos.add(DatasetWriter.writeShard(fs, new Path(d, DatasetWriter.shardName(split, s)), width, t, 0, t.length,
                        vocab, blockBytes));
                total += sizes[s];
            }
            splits.put(split, new Manifest.Split(total, sizes.length, infos));
        }
        Manifest.TokenizerFile tok = DatasetWriter.writeTokenizer(fs, d, Tokenizer.bundled().toModelBytes());
        Manifest m = new Manifest(Manifest.FORMAT, Manifest.FORMAT_VERSION, vocab, 1, 2, width.bytes(), tok, blockBytes,
                Manifest.chunkBytesFor(blockBytes), splits, Map.of());
        DatasetWriter.writeManifest(fs, d, m);
        return m;
    }

    /**
     * Turns a dataset written by {@link #write} into one as written before chunk checksums: its manifest without
     * chunk_bytes and no SHARD.crc32c files.
     */
    static void withoutChunkChecksums(String dir, Configuration conf) throws IOException {
        Path d = new Path(dir);
        FileSystem fs = DatasetWriter.withoutSideChecksums(d.getFileSystem(conf));
        Manifest m = Dataset.open(dir, conf).manifest();
        for (Manifest.Split split : m.splits().values()) {
            for (ShardInfo shard : split.shards()) fs.delete(new Path(d, Manifest.chunkChecksumsFile(shard.file())), false);
        }
        fs.delete(new Path(d, Manifest.FILE_NAME), false);
        DatasetWriter.writeManifest(fs, d, new Manifest(m.format(), m.formatVersion(), m.vocabSize(), m.bosId(), m.eosId(),
                m.tokenWidth(), m.tokenizer(), m.blockBytes(), m.splits(), m.preparation()));
    }
}
