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
     * In bf16: attention's operands rounded to bf16 (q, k, v, and dout backward; on sbgemm only dout, for the
     * softmax correction); null in fp32. Without OpenBLAS the Java attention then multiplies fp32 probabilities by
     * the rounded V (its products are fused with the softmax).
     */
    private float[] roundedQ, roundedK, roundedV, roundedDout;
    /** In bf16 on sbgemm: attention's operands as bf16 bits; else null. */
    private short[] bitsQ, bitsK, bitsV, bitsDout;
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
        return ((CpuTensor) t).data();
    }

    /**
     * Every kernel that writes tensors says so here first: in bf16 the matmul keeps operands converted, and a written
     * array's conversion is stale.
     */
    private void written(Tensor... outputs) {
        if (bf16 == null) return;
        for (Tensor t : outputs) bf16.forget(f(t));
    }

    private static int[] ints(IntTensor t) {
        return ((CpuIntTensor) t).data();
    }

    // ---- memory ----

    @Override
    public Tensor allocate(String name, int size) {
        return new CpuTensor(name, new float[size]);
    }

    @Override
    public IntTensor allocateInts(String name, int size) {
        return new CpuIntTensor(name, new int[size]);
    }

    @Override
    public void free(Tensor tensor) {
        // Heap memory: released when the model drops its reference; the bf16 matmul's copy of it goes now.
        if (bf16 != null) bf16.release(f(tensor));
    }

    @Override
    public void write(Tensor dst, int dstOffset, float[] src, int srcOffset, int length) {
        written(dst);
        System.arraycopy(src, srcOffset, f(dst), dstOffset, length);
    }

    @Override
    public void read(Tensor src, int srcOffset, float[] dst, int dstOffset, int length) {
        System.arraycopy(f(src), srcOffset, dst, dstOffset, length);
    }

    @Override
    public void writeInts(IntTensor dst, int[] src, int length) {
        System.arraycopy(src, 0, ints(dst), 0, length);
    }

    @Override
    public void zero(Tensor tensor) {
        written(tensor);
        float[] data = f(tensor);
        parallel.forEach(chunks(data.length), c -> Arrays.fill(data, c * CHUNK, chunkEnd(c, data.length), 0f));
    }

    @Override
    public void copy(Tensor dst, int dstOffset, Tensor src, int srcOffset, int length) {
        written(dst);
        System.arraycopy(f(src), srcOffset, f(dst), dstOffset, length);
    }

    // ---- matmul ----

    @Override
    public void matmul(Tensor out, Tensor x, Tensor w, int rows, int in, int outDim) {
        written(out);
        gemm.multiply(rows, outDim, in, f(x), false, f(w), true, f(out), false);
    }

    @Override
    public void matmulBackwardInput(Tensor dx, Tensor dout, Tensor w, int rows, int in, int outDim, boolean accumulate) {
        written(dx);
        gemm.multiply(rows, in, outDim, f(dout), false, f(w), false, f(dx), accumulate);
    }

    @Override
    public void matmulBackwardWeight(Tensor dw, Tensor dout, Tensor x, int rows, int in, int outDim) {
        written(dw);
        gemm.multiply(outDim, in, rows, f(dout), true, f(x), false, f(dw), true);
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
        float[] xs = f(x), tab = f(table);
        float sign = inverse ? -1f : 1f;
        int stride = heads * headDim;
        parallel.forEach(rowBlocks(rows), block -> {
            for (int row = block * 64, end = Math.min(rows, row + 64); row < end; row++) {
                int pos = row % seqLen;
                for (int h = 0; h < heads; h++) {
                    int at = row * stride + h * headDim;
                    for (int j = 0; j < headDim / 2; j++) {
                        float cos = tab[(pos * (headDim / 2) + j) * 2];
                        float sin = sign * tab[(pos * (headDim / 2) + j) * 2 + 1];
                        float a = xs[at + 2 * j], b = xs[at + 2 * j + 1];
                        xs[at + 2 * j] = a * cos - b * sin;
                        xs[at + 2 * j + 1] = a * sin + b * cos;
                    }
                }
            }
        });
    }

    // ---- SwiGLU ----

    @Override
    public void swiglu(Tensor out, Tensor gate, Tensor up, int n) {
        written(out);
        float[] o = f(out), g = f(gate), u = f(up);
        parallel.forEach(chunks(n), c -> {
            int i = c * CHUNK, end = chunkEnd(c, n);
            for (int bound = i + SPECIES.loopBound(end - i); i < bound; i += LANES) {
                FloatVector a = FloatVector.fromArray(SPECIES, g, i);
                FloatVector sigmoid = ONE.div(VectorMath.exp(a.neg()).add(1f));
                a.mul(sigmoid).mul(FloatVector.fromArray(SPECIES, u, i)).intoArray(o, i);
            }
            for (; i < end; i++) {
                float a = g[i];
                o[i] = a / (1f + VectorMath.exp(-a)) * u[i];
            }
        });
    }

    @Override
    public void swigluBackward(Tensor dgate, Tensor dup, Tensor dout, Tensor gate, Tensor up, int n) {
        written(dgate, dup);
        float[] dg = f(dgate), du = f(dup), dy = f(dout), g = f(gate), u = f(up);
        parallel.forEach(chunks(n), c -> {
            int i = c * CHUNK, end = chunkEnd(c, n);
            for (int bound = i + SPECIES.loopBound(end - i); i < bound; i += LANES) {
                FloatVector a = FloatVector.fromArray(SPECIES, g, i);
                FloatVector y = FloatVector.fromArray(SPECIES, dy, i);
                FloatVector sigmoid = ONE.div(VectorMath.exp(a.neg()).add(1f));
                y.mul(a.mul(sigmoid)).intoArray(du, i);
                // d silu(a)/da = sigmoid * (1 + a * (1 - sigmoid))
                FloatVector dsilu = sigmoid.mul(a.mul(sigmoid.neg().add(1f)).add(1f));
                y.mul(FloatVector.fromArray(SPECIES, u, i)).mul(dsilu).intoArray(dg, i);
            }
            for (; i < end; i++) {
                float a = g[i];
                float sigmoid = 1f / (1f + VectorMath.exp(-a));
                du[i] = dy[i] * a * sigmoid;
                dg[i] = dy[i] * u[i] * sigmoid * (1f + a * (1f - sigmoid));
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
        float[] qs = f(q), ks = f(k), vs = f(v);
        if (blasAttention != null && blasAttention.takesBits()) {
            blasAttention.forward(f(out), f(lse), bitsQ = bitsCopy(qs, bitsQ), bitsK = bitsCopy(ks, bitsK),
                    bitsV = bitsCopy(vs, bitsV), starts, batch, seqLen, heads, kvHeads, headDim);
            return;
        }
        if (precision == Precision.BF16) {
            qs = roundedQ = roundedCopy(qs, roundedQ);
            ks = roundedK = roundedCopy(ks, roundedK);
            vs = roundedV = roundedCopy(vs, roundedV);
        }
        if (blasAttention != null) {
            blasAttention.forward(f(out), f(lse), qs, ks, vs, starts, batch, seqLen, heads, kvHeads, headDim);
            return;
        }
        attention.forward(f(out), f(lse), qs, ks, vs, starts, batch, seqLen, heads, kvHeads, headDim);
    }

    /** {@code src} rounded to bf16 into {@code buffer} (a new one when it is too small); returns the buffer. */
    private float[] roundedCopy(float[] src, float[] buffer) {
        float[] dst = buffer != null && buffer.length >= src.length ? buffer : new float[src.length];
        parallel.forEach(chunks(src.length), c -> Bf16.round(src, c * CHUNK, dst, c * CHUNK, chunkEnd(c, src.length) - c * CHUNK));
        return dst;
    }

    /** {@code src} as bf16 bits into {@code buffer} (a new one when it is too small); returns the buffer. */
    private short[] bitsCopy(float[] src, short[] buffer) {
        short[] dst = buffer != null && buffer.length >= src.length ? buffer : new short[src.length];
        parallel.forEach(chunks(src.length), c -> Bf16.toBits(src, c * CHUNK, dst, c * CHUNK, chunkEnd(c, src.length) - c * CHUNK));
        return dst;
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
        float[] qs = f(q), ks = f(k), vs = f(v), dy = f(dout);
        if (blasAttention != null && blasAttention.takesBits()) {
            blasAttention.backward(f(dq), f(dk), f(dv), bitsDout = bitsCopy(dy, bitsDout),
                    roundedDout = roundedCopy(dy, roundedDout), f(out), f(lse), bitsQ = bitsCopy(qs, bitsQ),
                    bitsK = bitsCopy(ks, bitsK), bitsV = bitsCopy(vs, bitsV), starts,
                    batch, seqLen, heads, kvHeads, headDim);
            return;
        }
        if (precision == Precision.BF16) {
            qs = roundedQ = roundedCopy(qs, roundedQ);
            ks = roundedK = roundedCopy(ks, roundedK);
            vs = roundedV = roundedCopy(vs, roundedV);
            dy = roundedDout = roundedCopy(dy, roundedDout);
        }
        if (blasAttention != null) {
            blasAttention.backward(f(dq), f(dk), f(dv), dy, dy, f(out), f(lse), qs, ks, vs, starts,
                    batch, seqLen, heads, kvHeads, headDim);
            return;
        }
        attention.backward(f(dq), f(dk), f(dv), dy, f(out), f(lse), qs, ks, vs, starts,
                batch, seqLen, heads, kvHeads, headDim);
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
