package dev.jllama.model.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * fp32 to bfloat16 conversion, round to nearest with ties to even (what PyTorch's {@code .to(torch.bfloat16)} and
 * the AVX512_BF16 instruction {@code vcvtne2ps2bf16} do), in vector lanes. A bf16 value is the upper half of an fp32
 * one, so the same rounding gives either the 16-bit pattern ({@link #toBits}, for a bf16 GEMM) or the fp32 number
 * that pattern stands for ({@link #round}, for an fp32 GEMM that then computes exactly the bf16 products).
 */
final class Bf16 {
    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Short> SHORTS = ShortVector.SPECIES_PREFERRED.withShape(
            jdk.incubator.vector.VectorShape.forBitSize(FLOATS.vectorBitSize() / 2));
    private static final int LANES = FLOATS.length();
    /** Any NaN becomes this quiet NaN (the rounding below could otherwise carry a NaN's payload into infinity). */
    private static final int QUIET_NAN = 0x7FC00000;

    private Bf16() {}

    /** The fp32 bits of {@code x} rounded to bf16 (low 16 bits zero). */
    static int roundBits(float x) {
        int bits = Float.floatToRawIntBits(x);
        if (x != x) return QUIET_NAN;
        return (bits + 0x7FFF + ((bits >>> 16) & 1)) & 0xFFFF0000;
    }

    /** {@code x} rounded to the nearest bf16, as an fp32 number. */
    static float round(float x) {
        return Float.intBitsToFloat(roundBits(x));
    }

    private static IntVector roundBits(FloatVector x) {
        IntVector bits = x.reinterpretAsInts();
        IntVector lsb = bits.lanewise(VectorOperators.LSHR, 16).and(1);
        IntVector rounded = bits.add(0x7FFF).add(lsb).and(0xFFFF0000);
        VectorMask<Integer> nan = x.test(VectorOperators.IS_NAN).cast(INTS);
        return rounded.blend(QUIET_NAN, nan);
    }

    /** {@code dst[dstAt + i] = round(src[srcAt + i])} for {@code i < n}; {@code dst} may be {@code src}. */
    static void round(float[] src, int srcAt, float[] dst, int dstAt, int n) {
        int i = 0;
        for (int bound = FLOATS.loopBound(n); i < bound; i += LANES) {
            roundBits(FloatVector.fromArray(FLOATS, src, srcAt + i)).reinterpretAsFloats().intoArray(dst, dstAt + i);
        }
        for (; i < n; i++) dst[dstAt + i] = round(src[srcAt + i]);
    }

    /** {@code dst[dstAt + i]} = the bf16 bit pattern of {@code src[srcAt + i]} rounded, for {@code i < n}. */
    static void toBits(float[] src, int srcAt, short[] dst, int dstAt, int n) {
        int i = 0;
        for (int bound = FLOATS.loopBound(n); i < bound; i += LANES) {
            IntVector high = roundBits(FloatVector.fromArray(FLOATS, src, srcAt + i))
                    .lanewise(VectorOperators.LSHR, 16);
            ((ShortVector) high.convertShape(VectorOperators.I2S, SHORTS, 0)).intoArray(dst, dstAt + i);
        }
        for (; i < n; i++) dst[dstAt + i] = (short) (roundBits(src[srcAt + i]) >>> 16);
    }

    /** {@code dst[dstAt + i]} = the fp32 value of the bf16 bits {@code src[srcAt + i]} (exact), for {@code i < n}. */
    static void toFloats(short[] src, int srcAt, float[] dst, int dstAt, int n) {
        int i = 0;
        for (int bound = FLOATS.loopBound(n); i < bound; i += LANES) {
            ((IntVector) ShortVector.fromArray(SHORTS, src, srcAt + i).convertShape(VectorOperators.S2I, INTS, 0))
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(dst, dstAt + i);
        }
        for (; i < n; i++) dst[dstAt + i] = Float.intBitsToFloat(src[srcAt + i] << 16);
    }
}
