package dev.jllama.data.prepare;

/**
 * Token ids in as few bytes each as the largest needs (a first byte gives the width, 1 to 4, then each id little
 * endian): 2 bytes an id for any vocabulary up to 65,536, half of an int[], for the ids a document carries through
 * the job's persisted steps and shuffles.
 */
final class PackedIds {
    private PackedIds() {}

    static byte[] pack(int[] ids) {
        int max = 0;
        for (int id : ids) max |= id;
        int width = max >>> 24 != 0 ? 4 : max >>> 16 != 0 ? 3 : max >>> 8 != 0 ? 2 : 1;
        byte[] out = new byte[1 + ids.length * width];
        out[0] = (byte) width;
        for (int i = 0, at = 1; i < ids.length; i++) {
            int id = ids[i];
            for (int b = 0; b < width; b++, at++) out[at] = (byte) (id >>> (8 * b));
        }
        return out;
    }

    static int[] unpack(byte[] packed) {
        int width = packed[0];
        int[] ids = new int[(packed.length - 1) / width];
        for (int i = 0, at = 1; i < ids.length; i++) {
            int id = 0;
            for (int b = 0; b < width; b++, at++) id |= (packed[at] & 0xFF) << (8 * b);
            ids[i] = id;
        }
        return ids;
    }
}
