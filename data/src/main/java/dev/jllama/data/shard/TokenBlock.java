package dev.jllama.data.shard;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Verified byte ranges ("pieces") of a shard held in memory, one after the other in one array; tokens are widened
 * on copy. A whole block is one piece; a rank's windows of a block, read chunk by chunk, are several.
 */
final class TokenBlock {
    private static final VarHandle U16 = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle U32 = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

    private final String file;
    private final byte[] data;
    /** Piece i holds the file's bytes [fileOffsets[i], fileOffsets[i] + lengths[i]) at data[dataOffsets[i] ..). */
    private final long[] fileOffsets;
    private final int[] dataOffsets;
    private final int[] lengths;
    private final TokenWidth width;

    /** {@code data} holds the shard's bytes from {@code fileOffset} on. */
    TokenBlock(String file, byte[] data, long fileOffset, TokenWidth width) {
        this(file, data, new long[] {fileOffset}, new int[] {0}, new int[] {data.length}, width);
    }

    /** {@code fileOffsets} ascending and the pieces disjoint. */
    TokenBlock(String file, byte[] data, long[] fileOffsets, int[] dataOffsets, int[] lengths, TokenWidth width) {
        this.file = file;
        this.data = data;
        this.fileOffsets = fileOffsets;
        this.dataOffsets = dataOffsets;
        this.lengths = lengths;
        this.width = width;
    }

    /** Whether the shard's tokens [start, start+n) are in memory. */
    boolean holds(long start, int n) {
        return index(ShardHeader.BYTES + start * width.bytes(), (long) n * width.bytes()) >= 0;
    }

    /** Copies the shard's tokens [start, start+n) into dst[dstOff ..). */
    void copy(long start, int[] dst, int dstOff, int n) {
        long from = ShardHeader.BYTES + start * width.bytes();
        int piece = index(from, (long) n * width.bytes());
        if (piece < 0) {
            throw new IndexOutOfBoundsException("tokens [" + start + ", " + (start + n) + ") of shard " + file
                    + " are not in the loaded bytes " + describe());
        }
        int off = dataOffsets[piece] + (int) (from - fileOffsets[piece]);
        if (width == TokenWidth.UINT16) {
            for (int i = 0; i < n; i++, off += 2) dst[dstOff + i] = Short.toUnsignedInt((short) U16.get(data, off));
        } else {
            for (int i = 0; i < n; i++, off += 4) dst[dstOff + i] = (int) U32.get(data, off);
        }
    }

    /** The token stored at byte offset {@code offset} of the file, as an unsigned value. */
    long tokenAt(long offset) {
        int piece = index(offset, width.bytes());
        int off = dataOffsets[piece] + (int) (offset - fileOffsets[piece]);
        return width == TokenWidth.UINT16
                ? Short.toUnsignedInt((short) U16.get(data, off))
                : Integer.toUnsignedLong((int) U32.get(data, off));
    }

    /** The piece holding the file's bytes [from, from+len), or -1. */
    private int index(long from, long len) {
        int i = Arrays.binarySearch(fileOffsets, from);
        if (i < 0) i = -i - 2; // the last piece starting before from
        if (i < 0 || from + len > fileOffsets[i] + lengths[i]) return -1;
        return i;
    }

    private String describe() {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < fileOffsets.length; i++) {
            if (i > 0) b.append(", ");
            if (i == 8) return b.append("… (").append(fileOffsets.length).append(" ranges)").toString();
            b.append('[').append(fileOffsets[i]).append(", ").append(fileOffsets[i] + lengths[i]).append(')');
        }
        return b.toString();
    }
}
