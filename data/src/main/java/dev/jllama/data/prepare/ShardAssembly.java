package dev.jllama.data.prepare;

import dev.jllama.data.shard.DatasetWriter;
import dev.jllama.data.shard.ShardInfo;
import dev.jllama.data.shard.ShardWriter;
import dev.jllama.data.shard.TokenWidth;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import scala.Tuple2;

/**
 * Cuts a split's sorted token stream into shards of a fixed size, whatever the partitioning: every Spark partition
 * first writes its tokens to a part file per split (per split and source, when each source gets shards of its own),
 * the driver turns the part sizes into byte ranges per shard, and one task per shard copies its ranges behind a
 * header. Shard boundaries depend only on the token stream (of each source).
 */
final class ShardAssembly {
    private ShardAssembly() {}

    /**
     * One document's tokens (EOS included), the source they count for, and the tokens of its text as cleaned, before
     * frequent lines were removed (what the stages count, see {@link StageTokens}).
     */
    record Tokens(String source, int[] ids, int cleanedTokens) implements Serializable {}

    /**
     * What partition {@code index} wrote of one split: all its documents, or (with {@code source} set) those of one
     * source.
     */
    record Part(String split, String source, int index, String file, long tokens, long documents,
                Map<String, Long> tokensBySource, Map<String, Long> documentsBySource,
                Map<String, Long> cleanedTokensBySource) implements Serializable {}

    record Piece(String file, long byteOffset, long byteLength) implements Serializable {}

    /** Shard {@code index} of a split; {@code source} is the one source of its documents (null: any). */
    record ShardPlan(String split, String source, int index, long tokens, List<Piece> pieces) implements Serializable {}

    /**
     * Writes one partition's documents (already in key order), each to the part file of its split
     * ({@code dir/SPLIT/part-NNNNN}), as raw little-endian tokens; one part per split, empty ones included. With
     * {@code bySource}, each source of a split gets its own part ({@code dir/SPLIT/part-NNNNN-MMM}), for the sources
     * the partition holds.
     */
    static Iterator<Part> writeParts(int index, Iterator<Tuple2<String, Tokens>> docs, List<String> splits, String dir,
                                     byte[] conf, int width, boolean bySource) throws IOException {
        FileSystem fs = DatasetWriter.withoutSideChecksums(new Path(dir).getFileSystem(HadoopConf.fromBytes(conf)));
        Map<List<String>, PartWriter> writers = new LinkedHashMap<>(); // by [split] or [split, source]
        try {
            if (!bySource) {
                for (String split : splits) {
                    Path p = new Path(new Path(dir, split), String.format("part-%05d", index));
                    writers.put(List.of(split), new PartWriter(split, null, index, p, fs, width));
                }
            }
            while (docs.hasNext()) {
                Tuple2<String, Tokens> doc = docs.next();
                String split = doc._1();
                if (!splits.contains(split)) throw new IllegalArgumentException("no split " + split + " among " + splits);
                List<String> key = bySource ? List.of(split, doc._2().source()) : List.of(split);
                PartWriter w = writers.get(key);
                if (w == null) {
                    Path p = new Path(new Path(dir, split), String.format("part-%05d-%03d", index, writers.size()));
                    w = new PartWriter(split, doc._2().source(), index, p, fs, width);
                    writers.put(key, w);
                }
                w.write(doc._2());
            }
            List<Part> parts = new ArrayList<>();
            for (PartWriter w : writers.values()) parts.add(w.finish());
            return parts.iterator();
        } finally {
            for (PartWriter w : writers.values()) w.out.close(); // a second close after finish does nothing
        }
    }

    private static final class PartWriter {
        private final String split;
        private final String source;
        private final int index;
        private final Path file;
        private final int width;
        private final OutputStream out;
        private final byte[] buf = new byte[1 << 16];
        private final Map<String, Long> bySource = new TreeMap<>();
        private final Map<String, Long> documentsBySource = new TreeMap<>();
        private final Map<String, Long> cleanedBySource = new TreeMap<>();
        private long tokens;
        private long documents;

        PartWriter(String split, String source, int index, Path file, FileSystem fs, int width) throws IOException {
            this.split = split;
            this.source = source;
            this.index = index;
            this.file = file;
            this.width = width;
            this.out = new BufferedOutputStream(fs.create(file, true), 1 << 20);
        }

        void write(Tokens doc) throws IOException {
            int[] t = doc.ids();
            bySource.merge(doc.source(), (long) t.length, Long::sum);
            documentsBySource.merge(doc.source(), 1L, Long::sum);
            cleanedBySource.merge(doc.source(), (long) doc.cleanedTokens(), Long::sum);
            documents++;
            tokens += t.length;
            int pos = 0;
            for (int v : t) {
                if (pos + 4 > buf.length) {
                    out.write(buf, 0, pos);
                    pos = 0;
                }
                buf[pos++] = (byte) v;
                buf[pos++] = (byte) (v >>> 8);
                if (width == 4) {
                    buf[pos++] = (byte) (v >>> 16);
                    buf[pos++] = (byte) (v >>> 24);
                }
            }
            out.write(buf, 0, pos);
        }

        Part finish() throws IOException {
            out.close();
            return new Part(split, source, index, file.toString(), tokens, documents, bySource, documentsBySource,
                    cleanedBySource);
        }
    }

    /**
     * Shard plans for the parts of one split (and source, or null) given in partition order, numbered from
     * {@code firstIndex}.
     */
    static List<ShardPlan> plan(String split, String source, int firstIndex, List<Part> parts, long shardTokens, int width) {
        List<ShardPlan> plans = new ArrayList<>();
        List<Piece> pieces = new ArrayList<>();
        long inShard = 0;
        for (Part part : parts) {
            long used = 0;
            while (used < part.tokens()) {
                long n = Math.min(part.tokens() - used, shardTokens - inShard);
                pieces.add(new Piece(part.file(), used * width, n * width));
                used += n;
                inShard += n;
                if (inShard == shardTokens) {
                    plans.add(new ShardPlan(split, source, firstIndex + plans.size(), inShard, List.copyOf(pieces)));
                    pieces.clear();
                    inShard = 0;
                }
            }
        }
        if (inShard > 0) plans.add(new ShardPlan(split, source, firstIndex + plans.size(), inShard, List.copyOf(pieces)));
        return plans;
    }

    /** Runs in a task: copies the plan's byte ranges into one shard file. */
    static ShardInfo writeShard(ShardPlan plan, String dir, byte[] conf, int vocabSize, int blockBytes) throws IOException {
        Configuration c = HadoopConf.fromBytes(conf);
        String name = DatasetWriter.shardName(plan.split(), plan.index());
        Path file = new Path(dir, name);
        FileSystem fs = DatasetWriter.withoutSideChecksums(file.getFileSystem(c));
        TokenWidth width = TokenWidth.forVocabulary(vocabSize);
        byte[] buf = new byte[1 << 20];
        ShardWriter w;
        ShardInfo info;
        try (OutputStream out = new BufferedOutputStream(fs.create(file, true), 1 << 20)) {
            w = new ShardWriter(out, file.toString(), width, plan.tokens(), vocabSize, blockBytes);
            for (Piece piece : plan.pieces()) {
                Path part = new Path(piece.file());
                try (FSDataInputStream in = part.getFileSystem(c).open(part)) {
                    in.seek(piece.byteOffset());
                    long left = piece.byteLength();
                    while (left > 0) {
                        int n = (int) Math.min(buf.length, left);
                        in.readFully(buf, 0, n);
                        w.writeRaw(buf, 0, n);
                        left -= n;
                    }
                }
            }
            info = plan.source() == null ? w.finish(name) : w.finish(name).ofSource(plan.source());
        }
        DatasetWriter.writeChunkChecksums(fs, file, w.chunkCrcs(), true); // a retried task rewrites its shard too
        return info;
    }
}
