package dev.jllama.data.shard;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Writes one shard to a stream. The token count goes into the header first, so it must be known up front
 * (HDFS files cannot be rewritten in place); {@link #finish} checks that exactly that many tokens came. It also
 * keeps the shard's chunk checksums ({@link Manifest#chunkBytesFor}), which the caller writes beside the shard.
 */
public final class ShardWriter {
    private final OutputStream out;
    private final String file;
    private final ShardHeader header;
    private final int vocabSize;
    private final Crc32cBlocks crc;
    private final ByteBuffer buffer;
    private long written;

    public ShardWriter(OutputStream out, String file, TokenWidth width, long tokens, int vocabSize, int blockBytes)
            throws IOException {
        if (tokens > ShardHeader.MAX_TOKENS) {
            throw new IllegalArgumentException("shard " + file + ": " + tokens + " tokens exceed the per-shard limit "
                    + ShardHeader.MAX_TOKENS + " (the header's int32 token count)");
        }
        this.out = out;
        this.file = file;
        this.header = ShardHeader.of(width, (int) tokens);
        this.vocabSize = vocabSize;
        this.crc = new Crc32cBlocks(blockBytes, Manifest.chunkBytesFor(blockBytes));
        this.buffer = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        byte[] h = header.encode();
        crc.update(h, 0, h.length);
        out.write(h);
    }

    public void write(int[] tokens, int off, int len) throws IOException {
        if (written + len > header.tokens()) {
            throw new IOException("shard " + file + ": more than the announced " + header.tokens() + " tokens written");
        }
        boolean wide = header.width() == TokenWidth.UINT32;
        for (int i = off; i < off + len; i++) {
            int t = tokens[i];
            if (t < 0 || t >= vocabSize) {
                throw new IOException("shard " + file + ": token " + t + " outside the vocabulary of " + vocabSize);
            }
            if (buffer.remaining() < 4) flush();
            if (wide) buffer.putInt(t);
            else buffer.putShort((short) t);
        }
        written += len;
    }

    /** Raw little-endian tokens already in this shard's width (the preparation job copies them between files). */
    public void writeRaw(byte[] data, int off, int len) throws IOException {
        int w = header.width().bytes();
        if (len % w != 0) throw new IOException("shard " + file + ": raw write of " + len + " bytes is not whole tokens");
        if (written + len / w > header.tokens()) {
            throw new IOException("shard " + file + ": more than the announced " + header.tokens() + " tokens written");
        }
        flush();
        crc.update(data, off, len);
        out.write(data, off, len);
        written += len / w;
    }

    private void flush() throws IOException {
        if (buffer.position() > 0) {
            crc.update(buffer.array(), 0, buffer.position());
            out.write(buffer.array(), 0, buffer.position());
            buffer.clear();
        }
    }

    /** Flushes (does not close the stream) and returns the manifest entry. */
    public ShardInfo finish(String name) throws IOException {
        flush();
        if (written != header.tokens()) {
            throw new IOException("shard " + file + ": " + written + " tokens written, header announced " + header.tokens());
        }
        out.flush();
        return new ShardInfo(name, written, crc.bytes(), crc.crc32c(), crc.blockCrcs());
    }

    /** The contents of the shard's chunk checksums file; call after {@link #finish}. */
    public byte[] chunkCrcs() {
        return crc.chunkCrcs();
    }
}
