package dev.jllama.data.shard;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.function.IntConsumer;
import java.util.zip.CRC32C;

/**
 * Streams bytes through a whole-file CRC32C, one CRC32C per fixed-size block and, when asked for, one per smaller
 * chunk (the shard's chunk checksums file, {@link Manifest#chunkChecksumsFile}).
 */
public final class Crc32cBlocks {
    /** CRC-32C's polynomial, bit-reversed, as {@link CRC32C} and every CRC32C in this format use it. */
    private static final int POLYNOMIAL = 0x82F63B78;

    private final CRC32C whole = new CRC32C();
    private final List<String> blocks = new ArrayList<>();
    private final Slices blockSlices;
    private final ByteArrayOutputStream chunks = new ByteArrayOutputStream();
    /** Null without chunk checksums. */
    private final Slices chunkSlices;
    private long total;

    public Crc32cBlocks(int blockBytes) {
        this(blockBytes, 0);
    }

    /** {@code chunkBytes} 0: no chunk checksums; otherwise it must divide {@code blockBytes}. */
    public Crc32cBlocks(int blockBytes, int chunkBytes) {
        if (blockBytes <= 0) throw new IllegalArgumentException("block size must be positive, got " + blockBytes);
        if (chunkBytes < 0 || (chunkBytes > 0 && blockBytes % chunkBytes != 0)) {
            throw new IllegalArgumentException("chunk size " + chunkBytes + " must be 0 or divide the block size " + blockBytes);
        }
        this.blockSlices = new Slices(blockBytes, crc -> blocks.add(hex(crc)));
        this.chunkSlices = chunkBytes == 0 ? null : new Slices(chunkBytes, crc -> {
            chunks.write(crc >>> 24);
            chunks.write(crc >>> 16);
            chunks.write(crc >>> 8);
            chunks.write(crc);
        });
    }

    public void update(byte[] data, int off, int len) {
        whole.update(data, off, len);
        total += len;
        blockSlices.update(data, off, len);
        if (chunkSlices != null) chunkSlices.update(data, off, len);
    }

    public long bytes() {
        return total;
    }

    public String crc32c() {
        return hex(whole.getValue());
    }

    /** The block checksums so far, the final partial block included. Call once, at the end. */
    public List<String> blockCrcs() {
        blockSlices.finishPartial();
        return List.copyOf(blocks);
    }

    /** The chunk checksums as the chunk checksums file stores them (big-endian uint32 each). Call once, at the end. */
    public byte[] chunkCrcs() {
        if (chunkSlices == null) throw new IllegalStateException("this stream keeps no chunk checksums");
        chunkSlices.finishPartial();
        return chunks.toByteArray();
    }

    /** The CRC32C of each consecutive {@code size}-byte slice of a byte stream, handed on as each slice completes. */
    private static final class Slices {
        private final int size;
        private final IntConsumer finished;
        private final CRC32C crc = new CRC32C();
        private int filled;

        Slices(int size, IntConsumer finished) {
            this.size = size;
            this.finished = finished;
        }

        void update(byte[] data, int off, int len) {
            while (len > 0) {
                int n = Math.min(len, size - filled);
                crc.update(data, off, n);
                filled += n;
                off += n;
                len -= n;
                if (filled == size) finish();
            }
        }

        /** Hands on the last, shorter slice, if any. */
        void finishPartial() {
            if (filled > 0) finish();
        }

        private void finish() {
            finished.accept((int) crc.getValue());
            crc.reset();
            filled = 0;
        }
    }

    public static String hex(long crc) {
        return HexFormat.of().toHexDigits((int) crc);
    }

    /**
     * CRC32C of A followed by B from the CRC32C of A, that of B and B's length (zlib's crc32_combine, for CRC-32C's
     * polynomial): appending B multiplies A's register by x^(8·lenB) and adds B's; the pre- and post-conditioning
     * cancel out.
     */
    public static long combine(long crcA, long crcB, long lenB) {
        return combine(appendZeros(lenB), crcA, crcB);
    }

    /** {@link #combine} with the operator {@link #appendZeros}(lenB) made once for many B of one length. */
    static long combine(int[] appendZerosOfLenB, long crcA, long crcB) {
        return Integer.toUnsignedLong(times(appendZerosOfLenB, (int) crcA) ^ (int) crcB);
    }

    /** The GF(2) operator that appending {@code len} zero bytes applies to a CRC32C register. */
    static int[] appendZeros(long len) {
        int[] result = new int[32]; // identity
        for (int i = 0; i < 32; i++) result[i] = 1 << i;
        int[] power = new int[32]; // one zero bit, then squared up to one zero byte
        power[0] = POLYNOMIAL;
        for (int i = 1; i < 32; i++) power[i] = 1 << (i - 1);
        for (int i = 0; i < 3; i++) power = squared(power);
        for (; len > 0; len >>>= 1, power = squared(power)) {
            if ((len & 1) != 0) result = product(power, result);
        }
        return result;
    }

    private static int[] squared(int[] m) {
        return product(m, m);
    }

    /** The operator "apply b, then a". */
    private static int[] product(int[] a, int[] b) {
        int[] p = new int[32];
        for (int i = 0; i < 32; i++) p[i] = times(a, b[i]);
        return p;
    }

    private static int times(int[] matrix, int vector) {
        int sum = 0;
        for (int i = 0; vector != 0; i++, vector >>>= 1) {
            if ((vector & 1) != 0) sum ^= matrix[i];
        }
        return sum;
    }
}
