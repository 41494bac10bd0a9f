package dev.jllama.data.shard;

import java.io.EOFException;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.zip.CRC32C;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Reads token ranges of a split's shards through the Hadoop FileSystem API with positional reads, widened so that
 * every byte handed out is checked: to whole manifest CRC blocks, or, for the ranges of {@link #loadRanges} in a
 * dataset with chunk checksums, to whole chunks, whose checksums (SHARD.crc32c) are first checked against the
 * manifest's block checksums by CRC combination. It also checks that every token is below the vocabulary size. A
 * shard's length and header are checked against the manifest once, on its first read. Every error names the file
 * and the byte offset or range. Counts the bytes it reads ({@link #bytesRead}). Thread-safe (the prefetch thread
 * uses it).
 */
final class BlockLoader {
    private final Path dir;
    private final FileSystem fs;
    private final List<ShardInfo> shards;
    private final int vocabSize;
    private final int blockBytes;
    private final TokenWidth width;
    /** 0 when the dataset has no chunk checksums. */
    private final int chunkBytes;
    /** Appending one chunk_bytes chunk, as a CRC32C combination operator; null without chunk checksums. */
    private final int[] appendChunk;
    private final Set<Integer> checkedShards = ConcurrentHashMap.newKeySet();
    private final LongAdder bytesRead = new LongAdder();

    BlockLoader(Path dir, FileSystem fs, Manifest manifest, List<ShardInfo> shards) {
        this.dir = dir;
        this.fs = fs;
        this.shards = shards;
        this.vocabSize = manifest.vocabSize();
        this.blockBytes = manifest.blockBytes();
        this.width = TokenWidth.ofBytes(manifest.tokenWidth());
        this.chunkBytes = manifest.chunkBytes() == null ? 0 : manifest.chunkBytes();
        this.appendChunk = chunkBytes == 0 ? null : Crc32cBlocks.appendZeros(chunkBytes);
    }

    int tokenWidth() {
        return width.bytes();
    }

    /** Bytes read from the file system so far: shards, their headers and chunk checksums. */
    long bytesRead() {
        return bytesRead.sum();
    }

    /** Tokens [firstToken, endToken) of shard {@code shard} (its manifest index), read and verified. */
    TokenBlock load(int shard, long firstToken, long endToken) throws IOException {
        ShardInfo info = shards.get(shard);
        Path path = checkedOnce(shard);
        String name = path.toString();
        long wantedStart = ShardHeader.BYTES + firstToken * width.bytes();
        long wantedEnd = ShardHeader.BYTES + endToken * width.bytes();
        int firstCrcBlock = (int) (wantedStart / blockBytes);
        long readStart = (long) firstCrcBlock * blockBytes;
        long readEnd = Math.min((wantedEnd + blockBytes - 1) / blockBytes * blockBytes, info.bytes());
        byte[] data = new byte[Math.toIntExact(readEnd - readStart)];
        try (FSDataInputStream in = open(path)) {
            read(in, name, info, readStart, data, 0, data.length);
        }
        CRC32C crc = new CRC32C();
        for (int block = firstCrcBlock, off = 0; off < data.length; block++, off += blockBytes) {
            int len = Math.min(blockBytes, data.length - off);
            crc.reset();
            crc.update(data, off, len);
            String actual = Crc32cBlocks.hex(crc.getValue());
            String expected = info.blockCrc32c().get(block);
            if (!actual.equalsIgnoreCase(expected)) {
                long start = readStart + off;
                throw new IOException("shard " + name + " is corrupt: CRC32C mismatch in bytes [" + start + ", "
                        + (start + len) + ") (block " + block + "): manifest " + expected + ", file " + actual);
            }
        }
        TokenBlock tokens = new TokenBlock(name, data, readStart, width);
        checkVocabulary(tokens, name, wantedStart, wantedEnd);
        return tokens;
    }

    /**
     * Tokens [starts[i], ends[i]) of shard {@code shard} for every i, the ranges ascending by start and lying in
     * one block of {@link WindowOrder}; read and verified chunk by chunk when the dataset has chunk checksums,
     * otherwise as the whole CRC blocks that span them ({@link #load}).
     */
    TokenBlock loadRanges(int shard, long[] starts, long[] ends) throws IOException {
        long end = 0;
        for (long e : ends) end = Math.max(end, e);
        if (chunkBytes == 0) return load(shard, starts[0], end);
        ShardInfo info = shards.get(shard);
        Path path = checkedOnce(shard);
        String name = path.toString();
        // The ranges widened to whole chunks and merged where they touch: the pieces read.
        long[] pieceStart = new long[starts.length];
        long[] pieceEnd = new long[starts.length];
        int pieces = 0;
        for (int i = 0; i < starts.length; i++) {
            long from = (ShardHeader.BYTES + starts[i] * width.bytes()) / chunkBytes * chunkBytes;
            long to = Math.min((ShardHeader.BYTES + ends[i] * width.bytes() + chunkBytes - 1) / chunkBytes * chunkBytes,
                    info.bytes());
            if (pieces > 0 && from <= pieceEnd[pieces - 1]) {
                pieceEnd[pieces - 1] = Math.max(pieceEnd[pieces - 1], to);
            } else {
                pieceStart[pieces] = from;
                pieceEnd[pieces++] = to;
            }
        }
        long[] fileOffsets = Arrays.copyOf(pieceStart, pieces);
        int[] dataOffsets = new int[pieces];
        int[] lengths = new int[pieces];
        int total = 0;
        for (int p = 0; p < pieces; p++) {
            dataOffsets[p] = total;
            lengths[p] = Math.toIntExact(pieceEnd[p] - pieceStart[p]);
            total += lengths[p];
        }
        byte[] data = new byte[total];
        int firstCrcBlock = (int) (pieceStart[0] / blockBytes);
        int lastCrcBlock = (int) ((pieceEnd[pieces - 1] - 1) / blockBytes);
        int chunksPerBlock = blockBytes / chunkBytes;
        long shardChunks = (info.bytes() + chunkBytes - 1) / chunkBytes;
        long firstChunk = (long) firstCrcBlock * chunksPerBlock;
        int chunks = (int) (Math.min((long) (lastCrcBlock + 1) * chunksPerBlock, shardChunks) - firstChunk);
        byte[] chunkCrcs = new byte[4 * chunks];
        Path crcPath = new Path(dir, Manifest.chunkChecksumsFile(info.file()));
        try (FSDataInputStream in = open(crcPath)) {
            read(in, crcPath.toString(), null, 4 * firstChunk, chunkCrcs, 0, chunkCrcs.length);
        }
        try (FSDataInputStream in = open(path)) {
            for (int p = 0; p < pieces; p++) read(in, name, info, pieceStart[p], data, dataOffsets[p], lengths[p]);
        }
        checkChunkChecksums(crcPath.toString(), info, firstCrcBlock, lastCrcBlock, firstChunk, chunkCrcs);
        CRC32C crc = new CRC32C();
        for (int p = 0; p < pieces; p++) {
            for (int off = 0; off < lengths[p]; off += chunkBytes) {
                int len = Math.min(chunkBytes, lengths[p] - off);
                crc.reset();
                crc.update(data, dataOffsets[p] + off, len);
                long start = pieceStart[p] + off;
                int at = (int) (start / chunkBytes - firstChunk);
                long expected = Integer.toUnsignedLong(ByteBuffer.wrap(chunkCrcs, 4 * at, 4).getInt());
                if (crc.getValue() != expected) {
                    throw new IOException("shard " + name + " is corrupt: CRC32C mismatch in bytes [" + start + ", "
                            + (start + len) + ") (block " + start / blockBytes + ", chunk " + start / chunkBytes + " of "
                            + crcPath + "): expected "
                            + Crc32cBlocks.hex(expected) + ", file " + Crc32cBlocks.hex(crc.getValue()));
                }
            }
        }
        TokenBlock tokens = new TokenBlock(name, data, fileOffsets, dataOffsets, lengths, width);
        for (int i = 0; i < starts.length; i++) {
            checkVocabulary(tokens, name, ShardHeader.BYTES + starts[i] * width.bytes(), ShardHeader.BYTES + ends[i] * width.bytes());
        }
        return tokens;
    }

    /** The chunk checksums of CRC blocks [first, last] must combine into the manifest's checksums of those blocks. */
    private void checkChunkChecksums(String crcFile, ShardInfo info, int firstCrcBlock, int lastCrcBlock, long firstChunk,
                                     byte[] chunkCrcs) throws IOException {
        ByteBuffer crcs = ByteBuffer.wrap(chunkCrcs);
        int chunksPerBlock = blockBytes / chunkBytes;
        for (int block = firstCrcBlock; block <= lastCrcBlock; block++) {
            long blockStart = (long) block * blockBytes;
            long blockEnd = Math.min(blockStart + blockBytes, info.bytes());
            long combined = 0; // CRC32C of nothing
            for (long at = blockStart; at < blockEnd; at += chunkBytes) {
                long len = Math.min(chunkBytes, blockEnd - at);
                long crc = Integer.toUnsignedLong(crcs.getInt((int) (4 * (at / chunkBytes - firstChunk))));
                combined = len == chunkBytes ? Crc32cBlocks.combine(appendChunk, combined, crc)
                        : Crc32cBlocks.combine(combined, crc, len);
            }
            String expected = info.blockCrc32c().get(block);
            if (!Crc32cBlocks.hex(combined).equalsIgnoreCase(expected)) {
                throw new IOException("chunk checksums " + crcFile + " are corrupt: those of block " + block
                        + " (bytes [" + 4 * (blockStart / chunkBytes) + ", " + 4 * ((blockEnd + chunkBytes - 1) / chunkBytes)
                        + ") of it) combine to " + Crc32cBlocks.hex(combined) + ", the manifest's block_crc32c is "
                        + expected);
            }
        }
    }

    private void checkVocabulary(TokenBlock tokens, String name, long from, long to) throws IOException {
        for (long at = from; at < to; at += width.bytes()) {
            long t = tokens.tokenAt(at);
            if (t >= vocabSize) {
                throw new IOException("shard " + name + ": token " + t + " at byte offset " + at
                        + " is outside the vocabulary of " + vocabSize);
            }
        }
    }

    /** Positional read of file bytes [position, position+len), counted; {@code shard} null for a checksums file. */
    private void read(FSDataInputStream in, String name, ShardInfo shard, long position, byte[] into, int off, int len)
            throws IOException {
        try {
            in.readFully(position, into, off, len);
        } catch (EOFException e) {
            throw new IOException((shard == null ? "chunk checksums " : "shard ") + name + " is truncated: reading bytes ["
                    + position + ", " + (position + len) + ") hit its end"
                    + (shard == null ? "" : "; the manifest says " + shard.bytes() + " bytes"), e);
        }
        bytesRead.add(len);
    }

    /** The path of shard {@code shard}, its length and header checked against the manifest on its first read. */
    private Path checkedOnce(int shard) throws IOException {
        ShardInfo info = shards.get(shard);
        Path path = new Path(dir, info.file());
        if (!checkedShards.contains(shard)) {
            checkLengthAndHeader(path, info);
            checkedShards.add(shard);
        }
        return path;
    }

    private void checkLengthAndHeader(Path path, ShardInfo expected) throws IOException {
        String name = path.toString();
        FileStatus status;
        try {
            status = fs.getFileStatus(path);
        } catch (FileNotFoundException e) {
            throw new IOException("shard " + name + " listed in the manifest does not exist", e);
        }
        if (status.getLen() < expected.bytes()) {
            throw new IOException("shard " + name + " is truncated: the manifest says " + expected.bytes()
                    + " bytes, the file ends at byte offset " + status.getLen());
        }
        if (status.getLen() > expected.bytes()) {
            throw new IOException("shard " + name + " has " + (status.getLen() - expected.bytes())
                    + " unexpected bytes after byte offset " + expected.bytes());
        }
        byte[] bytes = new byte[ShardHeader.BYTES];
        try (FSDataInputStream in = open(path)) {
            read(in, name, expected, 0, bytes, 0, bytes.length);
        }
        ShardHeader header = ShardHeader.decode(bytes, name);
        if (header.tokens() != expected.tokens()) {
            throw new IOException("shard " + name + ": header token count " + header.tokens()
                    + " at byte offset 8 differs from the manifest's " + expected.tokens());
        }
        if (header.width() != width) {
            throw new IOException("shard " + name + ": header says " + header.width() + " tokens, the manifest's "
                    + "token_width is " + width.bytes() + " bytes");
        }
    }

    private FSDataInputStream open(Path path) throws IOException {
        try {
            return fs.open(path);
        } catch (FileNotFoundException e) {
            throw new IOException(path.getName().endsWith(Manifest.CHUNK_CHECKSUMS_SUFFIX)
                    ? "chunk checksums " + path + " do not exist, but the manifest's chunk_bytes says every shard has them"
                    : "shard " + path + " listed in the manifest does not exist", e);
        }
    }
}
