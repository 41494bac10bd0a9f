package dev.jllama.data.tokenizer;

import java.io.Serializable;

/**
 * SentencePiece's precompiled normalization map (NormalizerSpec.precompiled_charsmap, e.g. nmt_nfkc): a
 * little-endian uint32 byte size of a Darts-clone double-array trie, the trie's uint32 units, then the
 * replacement strings, each ending with NUL. The trie maps UTF-8 byte prefixes to offsets of replacements.
 */
final class CharsMap implements Serializable {
    private static final long serialVersionUID = 1L;
    private final int[] units;
    private final byte[] replacements;

    CharsMap(byte[] blob, String source) {
        if (blob.length < 4) throw new IllegalArgumentException(source + ": precompiled_charsmap is shorter than its header");
        long trieBytes = (blob[0] & 0xFFL) | (blob[1] & 0xFFL) << 8 | (blob[2] & 0xFFL) << 16 | (blob[3] & 0xFFL) << 24;
        if (trieBytes % 4 != 0 || trieBytes > blob.length - 4) {
            throw new IllegalArgumentException(source + ": precompiled_charsmap trie size " + trieBytes
                    + " does not fit its " + blob.length + " bytes");
        }
        units = new int[(int) (trieBytes / 4)];
        for (int i = 0; i < units.length; i++) {
            int at = 4 + 4 * i;
            units[i] = (blob[at] & 0xFF) | (blob[at + 1] & 0xFF) << 8 | (blob[at + 2] & 0xFF) << 16 | (blob[at + 3] & 0xFF) << 24;
        }
        replacements = java.util.Arrays.copyOfRange(blob, 4 + (int) trieBytes, blob.length);
        if (units.length == 0) throw new IllegalArgumentException(source + ": precompiled_charsmap has an empty trie");
    }

    /**
     * Longest key that prefixes {@code s[pos..end)}: returns its length in bytes (0 if none) and stores the offset
     * of its replacement in {@code value[0]}. Darts-clone's commonPrefixSearch, keeping the last (longest) hit.
     */
    int longestMatch(byte[] s, int pos, int end, int[] value) {
        int nodePos = 0;
        int unit = units[0];
        nodePos ^= offset(unit);
        int longest = 0;
        for (int i = pos; i < end; i++) {
            int label = s[i] & 0xFF;
            nodePos ^= label;
            if (nodePos < 0 || nodePos >= units.length) return longest;
            unit = units[nodePos];
            if ((unit & ((1 << 31) | 0xFF)) != label) return longest;
            nodePos ^= offset(unit);
            if (((unit >>> 8) & 1) == 1) {
                if (nodePos < 0 || nodePos >= units.length) return longest;
                value[0] = units[nodePos] & 0x7FFFFFFF;
                longest = i - pos + 1;
            }
        }
        return longest;
    }

    private static int offset(int unit) {
        return (unit >>> 10) << ((unit & (1 << 9)) >>> 6);
    }

    /** Appends the replacement at {@code offset} (up to its NUL) to {@code out}; returns the new length. */
    int appendReplacement(int offset, ByteBuffer out) {
        int start = out.size;
        for (int i = offset; i < replacements.length && replacements[i] != 0; i++) out.add(replacements[i]);
        return out.size - start;
    }

    /** Growable byte array. */
    static final class ByteBuffer {
        byte[] data = new byte[256];
        int size;

        void add(byte b) {
            if (size == data.length) data = java.util.Arrays.copyOf(data, size * 2);
            data[size++] = b;
        }
    }
}
