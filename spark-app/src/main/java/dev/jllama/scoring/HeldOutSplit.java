package dev.jllama.scoring;

import dev.jllama.data.prepare.DocumentHash;
import java.util.SplittableRandom;

/**
 * Which documents the classifier is evaluated on: a draw in [0, 1) from the document's SHA-256 and a seed, so the
 * split depends on the text alone (not on input order or partitioning) and another seed gives another split.
 */
public final class HeldOutSplit {
    private HeldOutSplit() {}

    public static boolean isHeldOut(String text, long seed, double fraction) {
        return draw(text, seed) < fraction;
    }

    static double draw(String text, long seed) {
        byte[] sha = DocumentHash.sha256(text);
        long v = 0;
        for (int i = 0; i < 8; i++) v = (v << 8) | (sha[i] & 0xFF);
        return new SplittableRandom(v ^ seed).nextDouble();
    }
}
