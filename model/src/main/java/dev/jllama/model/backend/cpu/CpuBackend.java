package dev.jllama.model.backend.cpu;

import dev.jllama.model.backend.AdamWStep;
import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.CachedAttention;
import dev.jllama.model.backend.IntTensor;
import dev.jllama.model.backend.PeakFlops;
import dev.jllama.model.backend.Precision;
import dev.jllama.model.backend.Tensor;
import java.util.Arrays;
import java.util.Optional;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The always-present backend: heap arrays, the Java Vector API and a thread pool sized to the cores; matmul and
 * attention on native OpenBLAS where its packaged natives load ({@link MatmulKernel}), else on the Vector API. Every
 * kernel splits its work into tasks that own disjoint outputs and reduce in a fixed order, so results are identical
 * for any thread count.
 */
public final class CpuBackend implements Backend {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = SPECIES.length();
    /** Elementwise kernels and reductions work in fixed chunks of this many elements. */
    private static final int CHUNK = 1 << 14;
    private static final FloatVector ONE = FloatVector.broadcast(SPECIES, 1f);

    private final Parallel parallel;
    private final Precision precision;
    /** The matmul of {@link #precision}: the fp32 kernel, or {@link #bf16} in front of it. */
    private final MatmulKernel gemm;
    /** In bf16 the matmul, which keeps operands converted until {@link #written} reports them changed; else null. */
    private final Bf16Matmul bf16;
    /**
     * In bf16, attention's operands Q, K, V and dO ({@link #Q} ...) converted: rounded to bf16 in fp32 (on sbgemm only
     * dO, for the softmax correction), and as bf16 bits on sbgemm; a saved activation kept in bf16 is used as is.
     * Without OpenBLAS the Java attention multiplies fp32 probabilities by the rounded V (its products are fused with
     * the softmax).
     */
    private final float[][] roundedOperands = new float[4][];
    private final short[][] operandBits = new short[4][];
    private static final int Q = 0, K = 1, V = 2, DOUT = 3;
    /** Where whole-tensor kernels (the matmul, attention) read or write the fp32 values of a tensor kept in bf16. */
    private float[] staging = new float[0];
    /** Per thread: buffers for a block of a bf16 tensor's values in fp32, for elementwise kernels ({@link #block}). */
    private static final ThreadLocal<float[][]> BLOCK_VALUES = ThreadLocal.withInitial(() -> new float[3][0]);
    /** Blocked on OpenBLAS with the OpenBLAS matmul, else the Java kernel. */
    private final CpuAttention attention;
    private final BlasAttention blasAttention;
    /** Measured (or read from the cache) on first use: runs that never ask for MFU pay nothing. */
    private PeakFlops peak;

    /** The matmul kernel: system property {@value #MATMUL_PROPERTY}, default {@code auto}. */
    public static final String MATMUL_PROPERTY = "jllama.cpu.matmul";

    public CpuBackend(int threads) {
        this(threads, System.getProperty(MATMUL_PROPERTY, "auto"));
    }

    /**
     * @param matmul {@code auto} (native OpenBLAS where its natives load, else the Java Vector API kernel),
     *               {@code openblas} or {@code java}
     */
    public CpuBackend(int threads, String matmul) {
        this(threads, matmul, Precision.FP32);
    }

    /** {@link #CpuBackend(int, String)} with its matrix products, attention's included, in {@code precision}. */
    public CpuBackend(int threads, Precision precision) {
        this(threads, System.getProperty(MATMUL_PROPERTY, "auto"), precision);
    }

    public CpuBackend(int threads, String matmul, Precision precision) {
        this.parallel = new Parallel(threads > 0 ? threads : Runtime.getRuntime().availableProcessors());
        this.precision = precision;
        MatmulKernel fp32 = MatmulKernel.create(matmul, parallel);
        this.bf16 = precision == Precision.BF16 ? Bf16Matmul.create(fp32, parallel) : null;
        this.gemm = bf16 != null ? bf16 : fp32;
        this.attention = new CpuAttention(parallel);
        this.blasAttention = !(fp32 instanceof OpenBlasGemm) ? null
                : bf16 != null && bf16.onSbgemm() ? BlasAttention.onSbgemm(OpenBlas.get(), parallel)
                : new BlasAttention(OpenBlas.get(), parallel, precision == Precision.BF16);
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public boolean masksAttentionPerExample() {
        return true;
    }

    @Override
    public Precision precision() {
        return precision;
    }

    @Override
    public String device() {
        return "CPU, " + parallel.threads() + (parallel.threads() == 1 ? " thread, " : " threads, ") + SPECIES.vectorBitSize() + "-bit vectors, matmul "
                + gemm.describe();
    }

    /** The matmul kernel that runs, e.g. "openblas 0.3.31 (SkylakeX)" or "java-vector (512-bit)". */
    public String matmulKernel() {
        return gemm.describe();
    }

    public int threads() {
        return parallel.threads();
    }

    /**
     * The rate of this backend's own matmul on this machine, threads and kernel: cached per machine in
     * {@link PeakFlopsCache#standard()}, else measured by a probe of about a quarter of a second ({@link MatmulPeak}).
     */
    @Override
    public synchronized Optional<PeakFlops> peakFlops() {
        if (peak == null) peak = MatmulPeak.of(this, parallel.threads(), gemm.describe(), PeakFlopsCache.standard());
        return Optional.of(peak);
    }

    private static float[] f(Tensor t) {
        if (t instanceof CpuTensor fp32) return fp32.data();
        throw new IllegalArgumentException("tensor '" + t.name() + "' is kept in bf16, which this kernel does not "
                + "read");
    }

    /** The elements as stored: {@code float[]}, or {@code short[]} bf16 bits for a tensor kept in bf16. */
    private static Object stored(Tensor t) {
        return t instanceof CpuBf16Tensor bf16 ? bf16.bits() : f(t);
    }

    /** The first {@code n} fp32 values of {@code t}: its array, or a bf16 tensor's values expanded into staging. */
    private float[] values(Tensor t, int n) {
        if (!(t instanceof CpuBf16Tensor kept)) return f(t);
        float[] buffer = staging(n);
        inChunks(n, (at, length) -> Bf16.toFloats(kept.bits(), at, buffer, at, length));
        return buffer;
    }

    /** Where a kernel writes the first {@code n} values of {@code t}: its array, or for a bf16 tensor a staging one. */
    private float[] output(Tensor t, int n) {
        return t instanceof CpuBf16Tensor ? staging(n) : f(t);
    }

    /** After a kernel wrote {@code t}'s values into {@link #output}: rounds them into a bf16 tensor. */
    private void store(Tensor t, float[] values, int n) {
        if (!(t instanceof CpuBf16Tensor kept)) return;
        inChunks(n, (at, length) -> Bf16.toBits(values, at, kept.bits(), at, length));
    }

    /** Work on elements {@code [at, at + length)}. */
    private interface Range {
        void run(int at, int length);
    }

    /** Runs {@code range} over {@code [0, n)} in the elementwise kernels' chunks, on the pool. */
    private void inChunks(int n, Range range) {
        parallel.forEach(chunks(n), c -> range.run(c * CHUNK, chunkEnd(c, n) - c * CHUNK));
    }

    private float[] staging(int n) {
        if (staging.length < n) staging = new float[n];
        return staging;
    }

    /** Elements {@code [start, start + n)} of a tensor in fp32: {@code array[at ..]}. */
    private record Block(float[] array, int at) {}

    /**
     * Elements {@code [start, start + n)} of {@code t} in fp32: in its own array, or for a bf16 tensor expanded into
     * this thread's buffer {@code which} (so an elementwise kernel reads half the bytes, and no whole-tensor copy).
     */
    private static Block block(Tensor t, int start, int n, int which) {
        if (!(t instanceof CpuBf16Tensor kept)) return new Block(f(t), start);
        Block buffer = threadBlock(which, n);
        Bf16.toFloats(kept.bits(), start, buffer.array(), 0, n);
        return buffer;
    }

    /** This thread's buffer {@code which}, at least {@code n} long. */
    private static Block threadBlock(int which, int n) {
        float[][] buffers = BLOCK_VALUES.get();
        if (buffers[which].length < n) buffers[which] = new float[n];
        return new Block(buffers[which], 0);
    }

    /** After an elementwise kernel wrote {@code values} of {@code t} from {@code start}: rounds them into bf16 ones. */
    private static void storeBlock(Tensor t, Block values, int start, int n) {
        if (t instanceof CpuBf16Tensor kept) Bf16.toBits(values.array(), values.at(), kept.bits(), start, n);
    }

    /**
     * Every kernel that writes tensors says so here first: in bf16 the matmul keeps operands converted, and a written
     * array's conversion is stale.
     */
    private void written(Tensor... outputs) {
        if (bf16 == null) return;
        for (Tensor t : outputs) bf16.forget(stored(t));
    }

    private static int[] ints(IntTensor t) {
        return ((CpuIntTensor) t).data();
    }

    // ---- memory ----

    @Override
    public Tensor allocate(String name, int size) {
        return new CpuTensor(name, new float[size]);
    }

    /**
     * In bf16 the tensor is kept as bf16 bits; in fp32 it is {@link #allocate}'s. Kernels that take a kept tensor: the
     * forward matmul (output, or input operand), the weight gradient's input operand, RoPE, SwiGLU's and its
     * backward's gate and up, attention's q, k, v and output (forward and backward), and read, write, copy and zero;
     * any other rejects it with a message naming it.
     */
    @Override
    public Tensor allocateActivation(String name, int size) {
        return precision == Precision.BF16 ? new CpuBf16Tensor(name, new short[size]) : allocate(name, size);
    }

    @Override
    public IntTensor allocateInts(String name, int size) {
        return new CpuIntTensor(name, new int[size]);
    }

    @Override
    public void free(Tensor tensor) {
        // Heap memory: released when the model drops its reference; the bf16 matmul's copy of it goes now.
        if (bf16 != null) bf16.release(stored(tensor));
    }

    @Override
    public void write(Tensor dst, int dstOffset, float[] src, int srcOffset, int length) {
        written(dst);
        if (dst instanceof CpuBf16Tensor kept) Bf16.toBits(src, srcOffset, kept.bits(), dstOffset, length);
        else System.arraycopy(src, srcOffset, f(dst), dstOffset, length);
    }

    @Override
    public void read(Tensor src, int srcOffset, float[] dst, int dstOffset, int length) {
        if (src instanceof CpuBf16Tensor kept) Bf16.toFloats(kept.bits(), srcOffset, dst, dstOffset, length);
        else System.arraycopy(f(src), srcOffset, dst, dstOffset, length);
    }

    @Override
    public void writeInts(IntTensor dst, int[] src, int length) {
        System.arraycopy(src, 0, ints(dst), 0, length);
    }

    @Override
    public void zero(Tensor tensor) {
        written(tensor);
        if (tensor instanceof CpuBf16Tensor kept) {
            Arrays.fill(kept.bits(), (short) 0);
            return;
        }
        float[] data = f(tensor);
        parallel.forEach(chunks(data.length), c -> Arrays.fill(data, c * CHUNK, chunkEnd(c, data.length), 0f));
    }

    @Override
    public void copy(Tensor dst, int dstOffset, Tensor src, int srcOffset, int length) {
        written(dst);
        if (src instanceof CpuBf16Tensor from) {
            if (dst instanceof CpuBf16Tensor to) System.arraycopy(from.bits(), srcOffset, to.bits(), dstOffset, length);
            else Bf16.toFloats(from.bits(), srcOffset, f(dst), dstOffset, length);
        } else if (dst instanceof CpuBf16Tensor to) {
            Bf16.toBits(f(src), srcOffset, to.bits(), dstOffset, length);
        } else {
            System.arraycopy(f(src), srcOffset, f(dst), dstOffset, length);
        }
    }

    // ---- matmul ----

    @Override
    public void matmul(Tensor out, Tensor x, Tensor w, int rows, int in, int outDim) {
        written(out);
        int n = rows * outDim;
        if (out instanceof CpuBf16Tensor kept) {
            bf16.multiplyIntoBits(rows, outDim, in, stored(x), false, stored(w), true, staging(n), kept.bits());
            return;
        }
        multiply(rows, outDim, in, x, false, w, true, f(out), false);
    }

    @Override
    public void matmulBackwardInput(Tensor dx, Tensor dout, Tensor w, int rows, int in, int outDim, boolean accumulate) {
        written(dx);
        multiply(rows, in, outDim, dout, false, w, false, f(dx), accumulate);
    }

    @Override
    public void matmulBackwardWeight(Tensor dw, Tensor dout, Tensor x, int rows, int in, int outDim) {
        written(dw);
        multiply(outDim, in, rows, dout, true, x, false, f(dw), true);
    }

    /** The matmul on operands as stored: in bf16 a tensor kept in bf16 is an operand as it is. */
    private void multiply(int m, int n, int k, Tensor a, boolean transA, Tensor b, boolean transB, float[] c,
                          boolean accumulate) {
        if (bf16 != null) bf16.multiplyStored(m, n, k, stored(a), transA, stored(b), transB, c, accumulate);
        else gemm.multiply(m, n, k, f(a), transA, f(b), transB, c, accumulate);
    }

    // ---- RMSNorm ----

    @Override
    public void rmsnorm(Tensor out, Tensor rstd, Tensor x, Tensor gain, int rows, int dim, float eps) {
        written(out, rstd);
        float[] o = f(out), r = f(rstd), xs = f(x), g = f(gain);
        parallel.forEach(rowBlocks(rows), block -> {
            for (int row = block * 64, end = Math.min(rows, row + 64); row < end; row++) {
                int at = row * dim;
                float inv = (float) (1.0 / Math.sqrt(VectorMath.dot(xs, at, xs, at, dim) / dim + eps));
                r[row] = inv;
                int i = 0;
                FloatVector s = FloatVector.broadcast(SPECIES, inv);
                for (int bound = SPECIES.loopBound(dim); i < bound; i += LANES) {
                    FloatVector.fromArray(SPECIES, xs, at + i).mul(s).mul(FloatVector.fromArray(SPECIES, g, i))
                            .intoArray(o, at + i);
                }
                for (; i < dim; i++) o[at + i] = xs[at + i] * inv * g[i];
            }
        });
    }

    @Override
    public void rmsnormBackward(Tensor dx, Tensor dgain, Tensor dout, Tensor x, Tensor gain, Tensor rstd,
                                int rows, int dim) {
        written(dx, dgain);
        float[] dxs = f(dx), dg = f(dgain), dy = f(dout), xs = f(x), g = f(gain), r = f(rstd);
        // Input gradient: rows are independent.
        parallel.forEach(rowBlocks(rows), block -> {
            for (int row = block * 64, end = Math.min(rows, row + 64); row < end; row++) {
                int at = row * dim;
                float inv = r[row];
                // dx = inv * (g*dy) - inv^3 / dim * x * sum(g*dy*x)
                float dot = 0f;
                for (int i = 0; i < dim; i++) dot += g[i] * dy[at + i] * xs[at + i];
                float coeff = inv * inv * inv * dot / dim;
                for (int i = 0; i < dim; i++) dxs[at + i] += inv * g[i] * dy[at + i] - coeff * xs[at + i];
            }
        });
        // Gain gradient: columns are independent; each sums over rows in order.
        int columnBlocks = (dim + 63) / 64;
        parallel.forEach(columnBlocks, block -> {
            int c0 = block * 64, c1 = Math.min(dim, c0 + 64);
            for (int row = 0; row < rows; row++) {
                int at = row * dim;
                float inv = r[row];
                for (int i = c0; i < c1; i++) dg[i] += dy[at + i] * xs[at + i] * inv;
            }
        });
    }

    // ---- RoPE ----

    @Override
    public void rope(Tensor x, Tensor table, int rows, int seqLen, int heads, int headDim, boolean inverse) {
        written(x);
        float[] tab = f(table);
        float sign = inverse ? -1f : 1f;
        int stride = heads * headDim;
        parallel.forEach(rowBlocks(rows), block -> {
            int first = block * 64, end = Math.min(rows, first + 64);
            Block xs = block(x, first * stride, (end - first) * stride, 0);
            for (int row = first; row < end; row++) {
                int pos = row % seqLen;
                for (int h = 0; h < heads; h++) {
                    int at = xs.at() + (row - first) * stride + h * headDim;
                    for (int j = 0; j < headDim / 2; j++) {
                        float cos = tab[(pos * (headDim / 2) + j) * 2];
                        float sin = sign * tab[(pos * (headDim / 2) + j) * 2 + 1];
                        float a = xs.array()[at + 2 * j], b = xs.array()[at + 2 * j + 1];
                        xs.array()[at + 2 * j] = a * cos - b * sin;
                        xs.array()[at + 2 * j + 1] = a * sin + b * cos;
                    }
                }
            }
            storeBlock(x, xs, first * stride, (end - first) * stride);
        });
    }

    // ---- SwiGLU ----

    @Override
    public void swiglu(Tensor out, Tensor gate, Tensor up, int n) {
        written(out);
        parallel.forEach(chunks(n), c -> {
            int start = c * CHUNK, length = chunkEnd(c, n) - start;
            Block g = block(gate, start, length, 0), u = block(up, start, length, 1);
            Block o = out instanceof CpuBf16Tensor ? threadBlock(2, length) : new Block(f(out), start);
            float[] ga = g.array(), ua = u.array(), oa = o.array();
            int i = 0;
            for (int bound = SPECIES.loopBound(length); i < bound; i += LANES) {
                FloatVector a = FloatVector.fromArray(SPECIES, ga, g.at() + i);
                FloatVector sigmoid = ONE.div(VectorMath.exp(a.neg()).add(1f));
                a.mul(sigmoid).mul(FloatVector.fromArray(SPECIES, ua, u.at() + i)).intoArray(oa, o.at() + i);
            }
            for (; i < length; i++) {
                float a = ga[g.at() + i];
                oa[o.at() + i] = a / (1f + VectorMath.exp(-a)) * ua[u.at() + i];
            }
            storeBlock(out, o, start, length);
        });
    }

    @Override
    public void swigluBackward(Tensor dgate, Tensor dup, Tensor dout, Tensor gate, Tensor up, int n) {
        written(dgate, dup);
        float[] dg = f(dgate), du = f(dup), dy = f(dout);
        parallel.forEach(chunks(n), c -> {
            int start = c * CHUNK, length = chunkEnd(c, n) - start;
            Block g = block(gate, start, length, 0), u = block(up, start, length, 1);
            float[] ga = g.array(), ua = u.array();
            int i = 0;
            for (int bound = SPECIES.loopBound(length); i < bound; i += LANES) {
                FloatVector a = FloatVector.fromArray(SPECIES, ga, g.at() + i);
                FloatVector y = FloatVector.fromArray(SPECIES, dy, start + i);
                FloatVector sigmoid = ONE.div(VectorMath.exp(a.neg()).add(1f));
                y.mul(a.mul(sigmoid)).intoArray(du, start + i);
                // d silu(a)/da = sigmoid * (1 + a * (1 - sigmoid))
                FloatVector dsilu = sigmoid.mul(a.mul(sigmoid.neg().add(1f)).add(1f));
                y.mul(FloatVector.fromArray(SPECIES, ua, u.at() + i)).mul(dsilu).intoArray(dg, start + i);
            }
            for (; i < length; i++) {
                float a = ga[g.at() + i];
                float sigmoid = 1f / (1f + VectorMath.exp(-a));
                du[start + i] = dy[start + i] * a * sigmoid;
                dg[start + i] = dy[start + i] * ua[u.at() + i] * sigmoid * (1f + a * (1f - sigmoid));
            }
        });
    }

    // ---- attention ----

    @Override
    public void attention(Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v,
                          int batch, int seqLen, int heads, int kvHeads, int headDim) {
        attention(out, lse, q, k, v, null, batch, seqLen, heads, kvHeads, headDim);
    }

    @Override
    public void attention(Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v, IntTensor startTensor,
                          int batch, int seqLen, int heads, int kvHeads, int headDim) {
        int[] starts = startTensor == null ? null : ints(startTensor);
        written(out, lse);
        int n = batch * seqLen * heads * headDim;
        float[] o = output(out, n);
        if (blasAttention != null && blasAttention.takesBits()) {
            blasAttention.forward(o, f(lse), bits(q, Q), bits(k, K), bits(v, V), starts,
                    batch, seqLen, heads, kvHeads, headDim);
        } else if (blasAttention != null) {
            blasAttention.forward(o, f(lse), operand(q, Q), operand(k, K), operand(v, V), starts,
                    batch, seqLen, heads, kvHeads, headDim);
        } else {
            attention.forward(o, f(lse), operand(q, Q), operand(k, K), operand(v, V), starts,
                    batch, seqLen, heads, kvHeads, headDim);
        }
        store(out, o, n);
    }

    /** Attention operand {@code t} (slot {@link #Q} ...) in fp32: as is in fp32, else rounded (or expanded) to bf16. */
    private float[] operand(Tensor t, int slot) {
        if (precision != Precision.BF16) return f(t);
        float[] dst = roundedOperands[slot];
        if (dst == null || dst.length < t.size()) roundedOperands[slot] = dst = new float[t.size()];
        float[] buffer = dst;
        if (t instanceof CpuBf16Tensor kept) {
            inChunks(t.size(), (at, length) -> Bf16.toFloats(kept.bits(), at, buffer, at, length));
        } else {
            float[] src = f(t);
            inChunks(t.size(), (at, length) -> Bf16.round(src, at, buffer, at, length));
        }
        return buffer;
    }

    /** Attention operand {@code t} (slot {@link #Q} ...) as bf16 bits: its own when kept in bf16, else converted. */
    private short[] bits(Tensor t, int slot) {
        if (t instanceof CpuBf16Tensor kept) return kept.bits();
        float[] src = f(t);
        short[] dst = operandBits[slot];
        if (dst == null || dst.length < src.length) operandBits[slot] = dst = new short[src.length];
        short[] buffer = dst;
        inChunks(src.length, (at, length) -> Bf16.toBits(src, at, buffer, at, length));
        return buffer;
    }

    @Override
    public void attentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dout, Tensor out, Tensor lse,
                                  Tensor q, Tensor k, Tensor v,
                                  int batch, int seqLen, int heads, int kvHeads, int headDim) {
        attentionBackward(dq, dk, dv, dout, out, lse, q, k, v, null, batch, seqLen, heads, kvHeads, headDim);
    }

    @Override
    public void attentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dout, Tensor out, Tensor lse,
                                  Tensor q, Tensor k, Tensor v, IntTensor startTensor,
                                  int batch, int seqLen, int heads, int kvHeads, int headDim) {
        int[] starts = startTensor == null ? null : ints(startTensor);
        written(dq, dk, dv);
        float[] o = values(out, batch * seqLen * heads * headDim);
        if (blasAttention != null && blasAttention.takesBits()) {
            blasAttention.backward(f(dq), f(dk), f(dv), bits(dout, DOUT), operand(dout, DOUT), o, f(lse),
                    bits(q, Q), bits(k, K), bits(v, V), starts, batch, seqLen, heads, kvHeads, headDim);
        } else if (blasAttention != null) {
            float[] dy = operand(dout, DOUT);
            blasAttention.backward(f(dq), f(dk), f(dv), dy, dy, o, f(lse), operand(q, Q), operand(k, K), operand(v, V),
                    starts, batch, seqLen, heads, kvHeads, headDim);
        } else {
            attention.backward(f(dq), f(dk), f(dv), operand(dout, DOUT), o, f(lse), operand(q, Q), operand(k, K),
                    operand(v, V), starts, batch, seqLen, heads, kvHeads, headDim);
        }
    }

    @Override
    public void attentionCached(Tensor out, Tensor q, Tensor kCache, Tensor vCache,
                                int rows, int start, int heads, int kvHeads, int headDim) {
        written(out);
        float[] o = f(out), qs = f(q), k = f(kCache), v = f(vCache);
        parallel.forEach(heads, h -> CachedAttention.head(o, qs, k, v, rows, start, heads, kvHeads, headDim, h));
    }

    // ---- embedding and loss ----

    @Override
    public void embedding(Tensor out, Tensor table, IntTensor tokens, int rows, int dim) {
        written(out);
        float[] o = f(out), tab = f(table);
        int[] ids = ints(tokens);
        int vocab = tab.length / dim;
        parallel.forEach(rowBlocks(rows), block -> {
            for (int row = block * 64, end = Math.min(rows, row + 64); row < end; row++) {
                int id = ids[row];
                if (id < 0 || id >= vocab) {
                    throw new IllegalArgumentException("token id " + id + " at row " + row
                            + " is outside the vocabulary of " + vocab);
                }
                System.arraycopy(tab, id * dim, o, row * dim, dim);
            }
        });
    }

    @Override
    public void embeddingBackward(Tensor dtable, Tensor dout, IntTensor tokens, int rows, int dim) {
        written(dtable);
        float[] dt = f(dtable), dy = f(dout);
        int[] ids = ints(tokens);
        // Columns are independent: each task adds every row into its own column range, in row order.
        int columnBlocks = (dim + 63) / 64;
        parallel.forEach(columnBlocks, block -> {
            int c0 = block * 64, c1 = Math.min(dim, c0 + 64);
            for (int row = 0; row < rows; row++) {
                int src = row * dim, dst = ids[row] * dim;
                for (int i = c0; i < c1; i++) dt[dst + i] += dy[src + i];
            }
        });
    }

    @Override
    public void crossEntropy(Tensor losses, int lossOffset, Tensor logits, IntTensor targets, int targetOffset,
                             int rows, int vocab, float gradScale) {
        written(losses, logits);
        float[] loss = f(losses), z = f(logits);
        int[] ys = ints(targets);
        parallel.forEach(rows, row -> {
            int at = row * vocab;
            int target = ys[targetOffset + row];
            if (target < 0) {
                loss[lossOffset + row] = 0f;
                Arrays.fill(z, at, at + vocab, 0f);
                return;
            }
            if (target >= vocab) {
                throw new IllegalArgumentException("target id " + target + " is outside the vocabulary of " + vocab);
            }
            float max = max(z, at, vocab);
            float targetLogit = z[at + target] - max;
            float sum = expShiftInPlace(z, at, vocab, max);
            loss[lossOffset + row] = (float) Math.log(sum) - targetLogit;
            float inv = gradScale / sum;
            scaleRange(z, at, vocab, inv);
            z[at + target] -= gradScale;
        });
    }

    /** {@code a[i] = exp(a[i] - shift)} over the range; returns the sum. */
    private static float expShiftInPlace(float[] a, int at, int n, float shift) {
        int i = 0;
        FloatVector sum = FloatVector.zero(SPECIES);
        FloatVector s = FloatVector.broadcast(SPECIES, shift);
        for (int bound = SPECIES.loopBound(n); i < bound; i += LANES) {
            FloatVector e = VectorMath.exp(FloatVector.fromArray(SPECIES, a, at + i).sub(s));
            e.intoArray(a, at + i);
            sum = sum.add(e);
        }
        float total = VectorMath.sumLanes(sum);
        for (; i < n; i++) {
            float e = VectorMath.exp(a[at + i] - shift);
            a[at + i] = e;
            total += e;
        }
        return total;
    }

    private static void scaleRange(float[] a, int at, int n, float factor) {
        int i = 0;
        FloatVector f = FloatVector.broadcast(SPECIES, factor);
        for (int bound = SPECIES.loopBound(n); i < bound; i += LANES) {
            FloatVector.fromArray(SPECIES, a, at + i).mul(f).intoArray(a, at + i);
        }
        for (; i < n; i++) a[at + i] *= factor;
    }

    private static float max(float[] a, int at, int n) {
        int i = 0;
        FloatVector m = FloatVector.broadcast(SPECIES, Float.NEGATIVE_INFINITY);
        for (int bound = SPECIES.loopBound(n); i < bound; i += LANES) {
            m = m.max(FloatVector.fromArray(SPECIES, a, at + i));
        }
        float result = m.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) result = Math.max(result, a[at + i]);
        return result;
    }

    // ---- elementwise, reductions, optimizer ----

    @Override
    public void add(Tensor dst, Tensor src, int n) {
        written(dst);
        float[] d = f(dst), s = f(src);
        parallel.forEach(chunks(n), c -> {
            int i = c * CHUNK, end = chunkEnd(c, n);
            for (int bound = i + SPECIES.loopBound(end - i); i < bound; i += LANES) {
                FloatVector.fromArray(SPECIES, d, i).add(FloatVector.fromArray(SPECIES, s, i)).intoArray(d, i);
            }
            for (; i < end; i++) d[i] += s[i];
        });
    }

    @Override
    public void scale(Tensor t, float factor) {
        written(t);
        float[] d = f(t);
        parallel.forEach(chunks(d.length), c -> {
            for (int i = c * CHUNK, end = chunkEnd(c, d.length); i < end; i++) d[i] *= factor;
        });
    }

    @Override
    public double sum(Tensor t, int n) {
        float[] d = f(t);
        double[] partial = new double[chunks(n)];
        parallel.forEach(partial.length, c -> {
            double s = 0;
            for (int i = c * CHUNK, end = chunkEnd(c, n); i < end; i++) s += d[i];
            partial[c] = s;
        });
        double total = 0;
        for (double p : partial) total += p;
        return total;
    }

    @Override
    public double sumOfSquares(Tensor t) {
        float[] d = f(t);
        double[] partial = new double[chunks(d.length)];
        parallel.forEach(partial.length, c -> {
            int i = c * CHUNK, end = chunkEnd(c, d.length);
            FloatVector acc = FloatVector.zero(SPECIES);
            for (int bound = i + SPECIES.loopBound(end - i); i < bound; i += LANES) {
                FloatVector x = FloatVector.fromArray(SPECIES, d, i);
                acc = x.fma(x, acc);
            }
            double s = VectorMath.sumLanes(acc);
            for (; i < end; i++) s += (double) d[i] * d[i];
            partial[c] = s;
        });
        double total = 0;
        for (double p : partial) total += p;
        return total;
    }

    @Override
    public void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep step) {
        adamw(param, grad, 0, m, v, 0, param.size(), step);
    }

    @Override
    public void adamw(Tensor param, Tensor grad, int offset, Tensor m, Tensor v, int momentOffset, int length,
                      AdamWStep step) {
        written(param, m, v);
        float[] p = f(param), g = f(grad), m1 = f(m), m2 = f(v);
        parallel.forEach(chunks(length), c -> {
            int start = c * CHUNK;
            adamwRange(step, p, g, offset + start, m1, m2, momentOffset + start, chunkEnd(c, length) - start);
        });
    }

    /**
     * {@link AdamWStep#apply} in vector lanes: the same IEEE operations in the same order (no fused multiply-add;
     * lane sqrt and division are correctly rounded like the scalar ones), so the bits equal the scalar loop's, which
     * runs the tail.
     */
    private static void adamwRange(AdamWStep step, float[] param, float[] grad, int paramOffset, float[] m, float[] v,
                                   int momentOffset, int length) {
        float b1 = step.beta1(), b2 = step.beta2(), lr = step.lr(), decay = 1f - lr * step.weightDecay();
        float bc1 = step.biasCorrection1(), bc2Sqrt = (float) Math.sqrt(step.biasCorrection2());
        float oneMinusB1 = 1f - b1, oneMinusB2 = 1f - b2, eps = step.eps(), gradScale = step.gradScale();
        int i = 0;
        for (int bound = SPECIES.loopBound(length); i < bound; i += LANES) {
            int p = paramOffset + i, k = momentOffset + i;
            FloatVector gi = FloatVector.fromArray(SPECIES, grad, p).mul(gradScale);
            FloatVector mi = FloatVector.fromArray(SPECIES, m, k).mul(b1).add(gi.mul(oneMinusB1));
            FloatVector vi = FloatVector.fromArray(SPECIES, v, k).mul(b2).add(gi.mul(oneMinusB2).mul(gi));
            mi.intoArray(m, k);
            vi.intoArray(v, k);
            FloatVector update = mi.div(bc1).mul(lr)
                    .div(vi.lanewise(VectorOperators.SQRT).div(bc2Sqrt).add(eps));
            FloatVector.fromArray(SPECIES, param, p).mul(decay).sub(update).intoArray(param, p);
        }
        step.apply(param, grad, paramOffset + i, m, v, momentOffset + i, length - i);
    }

    @Override
    public void close() {
        parallel.close();
    }

    private static int chunks(int n) {
        return (n + CHUNK - 1) / CHUNK;
    }

    private static int chunkEnd(int chunk, int n) {
        return Math.min(n, (chunk + 1) * CHUNK);
    }

    private static int rowBlocks(int rows) {
        return (rows + 63) / 64;
    }
}
